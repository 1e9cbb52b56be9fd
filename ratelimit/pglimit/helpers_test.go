package pglimit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/pglimit"
)

// postgresURLEnv names the PostgreSQL the tests use.
const postgresURLEnv = "BILLING_TEST_POSTGRES_URL"

const tenant = "6f9a1c2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"

// testURL returns the test database's URL, or skips the test when none is set.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(postgresURLEnv)
	if url == "" {
		t.Skipf("%s is not set; set it (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests", postgresURLEnv)
	}
	return url
}

// testPool opens a small pool on the test database, closed after the test.
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testURL(t))
	require.NoError(t, err, postgresURLEnv)
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pool.Ping(context.Background()), "PostgreSQL at %s", postgresURLEnv)
	return pool
}

// testSchema returns a fresh schema name, dropped after the test, so runs
// sharing the server never meet.
func testSchema(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "pglimit_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		require.NoError(t, err)
	})
	return schema
}

// shared is one database and schema: the budget every replica sees.
type shared struct {
	t      testing.TB
	pool   *pgxpool.Pool
	schema string
}

func newShared(t testing.TB) shared {
	t.Helper()
	pool := testPool(t)
	s := shared{t: t, pool: pool, schema: testSchema(t, pool)}
	require.NoError(t, s.limiter(pglimit.Options{}).Ensure(context.Background()))
	return s
}

// limiter is one replica's Limiter.
func (s shared) limiter(opts pglimit.Options) *pglimit.Limiter {
	opts.Schema = s.schema
	return pglimit.New(s.pool, opts)
}

// on is a Limiter on another DB (a wrapper, another pool) in s's schema.
func (s shared) on(db pglimit.DB, opts pglimit.Options) *pglimit.Limiter {
	opts.Schema = s.schema
	return pglimit.New(db, opts)
}

// pair returns two Limiters on the same database and schema: two replicas.
func pair(t *testing.T, opts pglimit.Options) (*pglimit.Limiter, *pglimit.Limiter) {
	t.Helper()
	s := newShared(t)
	return s.limiter(opts), s.limiter(opts)
}

// acquire takes a call, failing the test on refusal; the caller releases.
func acquire(t *testing.T, l ratelimit.Limiter, tenant string) func() {
	t.Helper()
	release, err := l.Acquire(t.Context(), tenant)
	require.NoError(t, err)
	require.NotNil(t, release)
	return release
}

// acquireOK takes and releases one call.
func acquireOK(t *testing.T, l ratelimit.Limiter, tenant string) {
	t.Helper()
	acquire(t, l, tenant)()
}

// refused asserts a local refusal for tenant and returns it.
func refused(t *testing.T, l ratelimit.Limiter, tenant string) *ratelimit.RateLimitError {
	t.Helper()
	release, err := l.Acquire(t.Context(), tenant)
	require.Error(t, err)
	require.Nil(t, release)
	require.ErrorIs(t, err, ratelimit.ErrRateLimited)
	var rle *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rle)
	require.True(t, rle.Local, "a limiter refusal is local")
	require.Equal(t, tenant, rle.Tenant)
	return rle
}

// allowedSoon waits (bounded) until tenant may call again, taking and
// releasing that call.
func allowedSoon(t *testing.T, l ratelimit.Limiter, tenant string) {
	t.Helper()
	require.Eventually(t, func() bool {
		release, err := l.Acquire(t.Context(), tenant)
		if err != nil {
			return false
		}
		release()
		return true
	}, 10*time.Second, 20*time.Millisecond)
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// count returns the rows of table in s's schema.
func (s shared) count(table string) int {
	s.t.Helper()
	var n int
	err := s.pool.QueryRow(context.Background(),
		"SELECT count(*) FROM "+pgx.Identifier{s.schema, table}.Sanitize()).Scan(&n)
	require.NoError(s.t, err)
	return n
}
