package xero

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"True": true, "true": true, "1": true, "yes": true, "on": true, "False": false, "FALSE": false, "0": false, "no": false, "off": false} {
		got, err := parseBool(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := parseBool("perhaps")
	assert.Error(t, err)
}
