package redislimit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxTagLen bounds the escaped tenant kept readable in keys; longer (and
// empty) tenants are hashed instead.
const maxTagLen = 128

// tenantKeys are one tenant's keys. They share the hash tag {tag}, so Redis
// Cluster keeps them in one slot and a script may use them together.
type tenantKeys struct {
	minute, day, slots, pause string
}

func (l *Limiter) keys(tenant string) tenantKeys {
	base := l.opts.KeyPrefix + "{" + tenantTag(tenant) + "}:"
	return tenantKeys{
		minute: base + "minute",
		day:    base + "day",
		slots:  base + "slots",
		pause:  base + "pause",
	}
}

// appPauseKey holds the app-wide pause. It has no braces of its own, so it
// cannot equal a tenant key.
func (l *Limiter) appPauseKey() string {
	return l.opts.KeyPrefix + "app:pause"
}

// tenantTag maps a tenant id to a hash tag one-to-one. Letters, digits, '-',
// '_' and '.' are kept, so a Xero tenant id (a UUID) stays readable; every
// other byte becomes %XX, so braces and ':' cannot break the key layout. An
// escape longer than maxTagLen, or an empty one (Redis would ignore "{}"),
// becomes '~' and the SHA-256 of the tenant: '~' never appears in an escape.
func tenantTag(tenant string) string {
	var b strings.Builder
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(tenant) && b.Len() <= maxTagLen; i++ {
		c := tenant[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0x0f])
		}
	}
	if b.Len() == 0 || b.Len() > maxTagLen {
		sum := sha256.Sum256([]byte(tenant))
		return "~" + hex.EncodeToString(sum[:])
	}
	return b.String()
}
