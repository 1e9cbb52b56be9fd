package sqlstore

// VersionTable is versionTable, for the tests in package sqlstore_test.
const VersionTable = versionTable

// IsUniqueViolation reports whether err is a unique constraint violation in
// the dialect of s.
func IsUniqueViolation(s *Store, err error) bool { return s.dialect.isUniqueViolation(err) }
