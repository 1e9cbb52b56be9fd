package currency

// IsCode reports whether s has the form of an ISO 4217 code: three
// upper-case letters.
func IsCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
