package layering

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/amsbilling/sdk"

// deps lists the packages pkg links (go list -deps), module-relative for
// the module's own.
func deps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	require.NoError(t, err, "go list -deps %s", pkg)
	set := map[string]bool{}
	for _, line := range strings.Fields(string(out)) {
		set[strings.TrimPrefix(line, module+"/")] = true
	}
	return set
}

func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	tests := []struct {
		pkg       string
		forbidden []string
		why       string
	}{
		{"examples/server", []string{"mock", "mock/emulator"}, "a production app links no test double"},
		{"examples/fetch-invoice-updates", []string{"mock", "mock/emulator"}, "the cron command links no test double"},
		{"xero/setup", []string{"mock", "mock/emulator"}, "the mocks are opt-in"},
		{"mock/emulator", []string{"ratelimit", "xero"}, "the emulator counts Xero's limits with its own code"},
		{"billing/sqlstore", []string{"github.com/jackc/pgx/v5", "modernc.org/sqlite"}, "the store core links no driver"},
		{"billing/sqlstore/pgstore", []string{"modernc.org/sqlite"}, "a PostgreSQL app links no SQLite"},
		{"billing/sqlstore/sqlitestore", []string{"github.com/jackc/pgx/v5"}, "a SQLite app links no pgx"},
		{"billing", []string{"xero", "ratelimit", "webhook", "mock", "xero/setup"}, "billing is the provider-neutral core"},
		{"webhook", []string{"xero", "ratelimit", "mock"}, "the webhook handler is provider-neutral"},
		{"ratelimit", []string{"billing", "xero"}, "ratelimit stands alone"},
		{"ratelimit/pglimit", []string{"billing", "xero", "github.com/redis/go-redis/v9"}, "the PostgreSQL limiter links only ratelimit and pgx"},
		{"ratelimit/redislimit", []string{"billing", "xero", "github.com/jackc/pgx/v5"}, "the Redis limiter links only ratelimit and go-redis"},
		{"xero", []string{"mock", "webhook", "xero/setup"}, "xero knows only billing and ratelimit"},
		{"xero/doctor", []string{"mock", "mock/emulator", "webhook", "billing/sqlstore"}, "the doctor links no test double and no store: the app passes its own"},
		{"examples/doctor", []string{"mock", "mock/emulator"}, "the operator tool links no test double"},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			d := deps(t, tt.pkg)
			for _, f := range tt.forbidden {
				assert.False(t, d[f], "%s links %s: %s", tt.pkg, f, tt.why)
			}
		})
	}
}

// The library records metrics through OpenTelemetry's API only: the app
// chooses the SDK and the exporter (examples/server links both).
func TestLibrariesLinkOnlyTheOpenTelemetryAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{
		"go.opentelemetry.io/otel/sdk/metric",
		"go.opentelemetry.io/otel/exporters/prometheus",
		"github.com/prometheus/client_golang/prometheus",
	}
	for _, pkg := range []string{"billing", "webhook", "xero", "xero/setup", "xero/doctor", "ratelimit", "ratelimit/redislimit", "ratelimit/pglimit", "billing/sqlstore", "mock", "mock/emulator"} {
		t.Run(pkg, func(t *testing.T) {
			d := deps(t, pkg)
			for _, f := range forbidden {
				assert.False(t, d[f], "%s links %s: a library links OpenTelemetry's API, never its SDK or an exporter", pkg, f)
			}
		})
	}
	assert.True(t, deps(t, "examples/server")["go.opentelemetry.io/otel/exporters/prometheus"], "the server exports its metrics")
}
