package currency

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsCode(t *testing.T) {
	for s, want := range map[string]bool{"NZD": true, "AUD": true, "nzd": false, "NZ": false, "NZDX": false, "N1D": false, "": false} {
		assert.Equal(t, want, IsCode(s), s)
	}
}
