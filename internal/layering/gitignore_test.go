package layering

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every example's binary, as `go build ./examples/NAME` leaves it in the
// working directory, is ignored by git.
func TestGitignoreCoversEveryExample(t *testing.T) {
	ignore, err := os.ReadFile("../../.gitignore")
	require.NoError(t, err)
	lines := map[string]bool{}
	for _, l := range strings.Split(string(ignore), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	dirs, err := os.ReadDir("../../examples")
	require.NoError(t, err)
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "internal" {
			continue
		}
		if _, err := os.Stat(filepath.Join("../../examples", d.Name(), "main.go")); err != nil {
			continue
		}
		assert.True(t, lines["/"+d.Name()], ".gitignore lacks /%s", d.Name())
	}
}
