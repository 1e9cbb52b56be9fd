package readmecheck

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imports the snippets may use without importing: the README shows the
// interesting lines, not the import block.
var imports = map[string]string{
	"context": "context", "errors": "errors", "fmt": "fmt", "log": "log", "slog": "log/slog",
	"http": "net/http", "os": "os", "time": "time", "regexp": "regexp",
	"decimal":     "github.com/shopspring/decimal",
	"redis":       "github.com/redis/go-redis/v9",
	"billing":     "github.com/amsbilling/sdk/billing",
	"sqlstore":    "github.com/amsbilling/sdk/billing/sqlstore",
	"pgstore":     "github.com/amsbilling/sdk/billing/sqlstore/pgstore",
	"sqlitestore": "github.com/amsbilling/sdk/billing/sqlstore/sqlitestore",
	"sqlurl":      "github.com/amsbilling/sdk/billing/sqlstore/sqlurl",
	"storetest":   "github.com/amsbilling/sdk/billing/storetest",
	"mock":        "github.com/amsbilling/sdk/mock",
	"emulator":    "github.com/amsbilling/sdk/mock/emulator",
	"ratelimit":   "github.com/amsbilling/sdk/ratelimit",
	"redislimit":  "github.com/amsbilling/sdk/ratelimit/redislimit",
	"webhook":     "github.com/amsbilling/sdk/webhook",
	"xero":        "github.com/amsbilling/sdk/xero",
	"setup":       "github.com/amsbilling/sdk/xero/setup",
}

// placeholders are what a snippet may take from the app around it.
const placeholders = `
var (
	ctx      context.Context
	userUUID string
	orgUUID  string
	logger   *slog.Logger
	cfg      setup.Config
	store    *sqlstore.Store
	svc      billing.Service
	mux      *http.ServeMux
	members  []billing.User
	params   billing.CreateInvoiceParams
)

func activateMembership(context.Context, billing.Account) error { return nil }
func currentUserID(*http.Request) string                         { return "" }
func retryLater(time.Duration) error                             { return nil }
`

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// snippets returns the README's Go blocks.
func snippets(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var out []string
	for _, m := range goBlock.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// source makes a compilable file of a snippet: declarations stay at the
// top level, statements go in a function body.
func source(snippet string) string {
	var b strings.Builder
	b.WriteString("package snippet\n\nimport (\n")
	for name, path := range imports {
		b.WriteString("\t" + name + " " + `"` + path + `"` + "\n")
	}
	b.WriteString(")\n" + placeholders + "\n")
	if topLevel(snippet) {
		b.WriteString(snippet)
	} else {
		b.WriteString("func _() error {\n" + snippet + "\nreturn nil\n}\n")
	}
	return b.String()
}

func topLevel(s string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "func ") || strings.HasPrefix(l, "type ") {
			return true
		}
	}
	return false
}

// exportData finds the compiled export data of every package a snippet may
// import (go list -export builds them, from the build cache when it can),
// which is much faster than type-checking their sources.
func exportData(t *testing.T) func(path string) (io.ReadCloser, error) {
	t.Helper()
	args := []string{"list", "-export", "-deps", "-f", "{{.ImportPath}}={{.Export}}"}
	for _, path := range imports {
		args = append(args, path)
	}
	cmd := exec.Command("go", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list -export: %s", stderr.String())
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, "="); ok && file != "" {
			files[path] = file
		}
	}
	return func(path string) (io.ReadCloser, error) {
		file, ok := files[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	}
}

// Every Go snippet of the README compiles against the module as it is
// (unused variables and imports aside: a snippet shows a part of an app).
func TestReadmeSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks against the module's sources")
	}
	blocks := snippets(t)
	require.NotEmpty(t, blocks)
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", exportData(t))
	for i, s := range blocks {
		f, err := parser.ParseFile(fset, "snippet.go", source(s), 0)
		if !assert.NoError(t, err, "README Go block %d does not parse:\n%s", i+1, s) {
			continue
		}
		var hard []string
		conf := types.Config{Importer: imp, Error: func(err error) {
			if te, ok := err.(types.Error); ok && te.Soft {
				return // declared and not used, imported and not used
			}
			hard = append(hard, err.Error())
		}}
		_, _ = conf.Check("snippet", fset, []*ast.File{f}, nil)
		assert.Empty(t, hard, "README Go block %d does not compile:\n%s", i+1, s)
	}
}

// The app snippet is safe as pasted: it stops when billing is switched off
// instead of using a nil service, and says where the database URL comes from.
func TestReadmeUsageIsSafeAsPasted(t *testing.T) {
	blocks := snippets(t)
	var usage string
	for _, s := range blocks {
		if strings.Contains(s, "setup.New(") && strings.Contains(s, "CreateInvoice(") {
			usage = s
			break
		}
	}
	require.NotEmpty(t, usage, "the README shows an app using setup.New and CreateInvoice")
	assert.Regexp(t, `errors\.Is\(err, billing\.ErrNoService\)[^}]*return`, usage, "returns early when billing is off")
	assert.Contains(t, usage, "BILLING_DATABASE_URL", "says where the database URL comes from")
}

// What a reader pasting the README's snippets or following its commands
// needs is there: the Redis snippet handles ParseURL's error, the mounting
// snippet sets server timeouts, and the facts that surprised users are said.
func TestReadmeSaysWhatUsersNeed(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(b)
	blocks := strings.Join(snippets(t), "\n")
	assert.Regexp(t, `redis\.ParseURL\([^\n]*\n\s*if err != nil`, blocks, "the Redis snippet handles ParseURL's error")
	for _, timeout := range []string{"ReadHeaderTimeout", "ReadTimeout", "WriteTimeout", "IdleTimeout"} {
		assert.Contains(t, blocks, timeout, "the mounting snippet sets server timeouts")
	}
	for _, fact := range []string{
		"`-race` needs cgo and a C compiler", // the test command
		"`-amount 120.00` bills 138.00",      // EXCLUSIVE adds tax
		"`-addr` wins",                       // ADDR and -addr
		"go run ./examples/doctor",           // Troubleshooting starts there
		"## Guarantees", "## Bulk work", "## Operations",
	} {
		assert.Contains(t, readme, fact)
	}
}
