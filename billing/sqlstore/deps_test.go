package sqlstore_test

import (
	"errors"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const (
	pgxModule    = "github.com/jackc/pgx"
	sqliteModule = "modernc.org/sqlite"
)

// TestDriverDeps checks, with go list -deps, that an app opening one
// database links only that database's driver: pgstore no SQLite, sqlitestore
// no pgx, and this package neither.
func TestDriverDeps(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command in PATH:", err)
	}
	const base = "github.com/amsbilling/sdk/billing/sqlstore"
	tests := []struct {
		pkg            string
		links, refuses []string
	}{
		{base, nil, []string{pgxModule, sqliteModule}},
		{base + "/pgstore", []string{pgxModule}, []string{sqliteModule}},
		{base + "/sqlitestore", []string{sqliteModule}, []string{pgxModule}},
		{base + "/sqlurl", []string{pgxModule, sqliteModule}, nil},
	}
	for _, tt := range tests {
		t.Run(path.Base(tt.pkg), func(t *testing.T) {
			t.Parallel()
			out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}}", tt.pkg).Output()
			if err != nil {
				if ee, ok := errors.AsType[*exec.ExitError](err); ok {
					t.Fatalf("go list -deps %s: %v\n%s", tt.pkg, err, ee.Stderr)
				}
				t.Fatalf("go list -deps %s: %v", tt.pkg, err)
			}
			deps := strings.Fields(string(out))
			for _, mod := range tt.refuses {
				for _, d := range deps {
					if d == mod || strings.HasPrefix(d, mod+"/") {
						t.Errorf("%s links %s (from module %s)", tt.pkg, d, mod)
					}
				}
			}
			for _, mod := range tt.links {
				found := false
				for _, d := range deps {
					found = found || d == mod || strings.HasPrefix(d, mod+"/")
				}
				if !found {
					t.Errorf("%s does not link %s; the check above would pass for the wrong reason", tt.pkg, mod)
				}
			}
		})
	}
}
