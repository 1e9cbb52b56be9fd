package pglimit_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/ratelimit"
	"github.com/amsbilling/sdk/ratelimit/pglimit"
)

// unreachable is a pool for a port nothing listens on; it needs no database.
func unreachable(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func TestUnreachableDatabaseFailsClosedByDefault(t *testing.T) {
	for _, wait := range []bool{false, true} {
		l := pglimit.New(unreachable(t), pglimit.Options{Limits: ratelimit.Options{Wait: wait}})

		release, err := l.Acquire(t.Context(), tenant)
		require.Error(t, err)
		assert.Nil(t, release)
		assert.ErrorIs(t, err, pglimit.ErrUnavailable)
		var ue *pglimit.UnavailableError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, tenant, ue.Tenant)
		assert.NotNil(t, errors.Unwrap(err), "the driver's error is kept")
		var rle *ratelimit.RateLimitError
		assert.False(t, errors.As(err, &rle), "an outage is not a rate limit")
		assert.NotErrorIs(t, err, ratelimit.ErrRateLimited)
		var temp interface{ Temporary() bool }
		require.ErrorAs(t, err, &temp)
		assert.True(t, temp.Temporary())
	}
}

func TestUnreachableDatabaseFailOpen(t *testing.T) {
	var logs syncBuffer
	l := pglimit.New(unreachable(t), pglimit.Options{
		FailOpen: true,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	})

	for range 3 {
		release, err := l.Acquire(t.Context(), tenant)
		require.NoError(t, err)
		require.NotNil(t, release)
		release()
		release()
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "one warning per outage, not per call:\n%s", logs.String())
	assert.Contains(t, logs.String(), "FailOpen")
}

// FailOpen's warning is once per outage: calls limited again once the
// database answers, and a new outage warns again.
func TestFailOpenRecovers(t *testing.T) {
	s := newShared(t)
	var logs syncBuffer
	flaky := &switchDB{up: s.pool, down: unreachable(t)}
	l := s.on(flaky, pglimit.Options{FailOpen: true, Limits: ratelimit.Options{PerMinute: 2}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	flaky.broken.Store(true)
	acquireOK(t, l, tenant)
	flaky.broken.Store(false)
	acquireOK(t, l, tenant)
	acquireOK(t, l, tenant)
	refused(t, l, tenant)
	flaky.broken.Store(true)
	acquireOK(t, l, tenant)
	assert.Equal(t, 2, strings.Count(logs.String(), "level=WARN"), logs.String())
	assert.Equal(t, 1, strings.Count(logs.String(), "resumed"), logs.String())
}

func TestUnreachableDatabaseObserveLogs(t *testing.T) {
	var logs syncBuffer
	l := pglimit.New(unreachable(t), pglimit.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	l.Observe(tenant, http.StatusTooManyRequests, header("Retry-After", "30"))
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "answer said failed")

	before := logs.String()
	l.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "60", "X-DayLimit-Remaining", "5000"))
	assert.Equal(t, before, logs.String(), "nothing to record, so no database call")

	l.Observe(tenant, http.StatusOK, header("X-MinLimit-Remaining", "40"))
	assert.NotEqual(t, before, logs.String(), "a count to align with needs the database")
}

func TestUnreachableDatabaseReleaseLogs(t *testing.T) {
	s := newShared(t)
	var logs syncBuffer
	flaky := &switchDB{up: s.pool, down: unreachable(t)}
	l := s.on(flaky, pglimit.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	release := acquire(t, l, tenant)
	flaky.broken.Store(true)
	release()
	assert.Contains(t, logs.String(), "expires after SlotTTL")
}

func TestNilDB(t *testing.T) {
	l := pglimit.New(nil, pglimit.Options{})
	_, err := l.Acquire(t.Context(), tenant)
	require.ErrorIs(t, err, pglimit.ErrUnavailable)
	require.ErrorIs(t, l.Ensure(t.Context()), pglimit.ErrUnavailable)
	l.Observe(tenant, http.StatusTooManyRequests, http.Header{})

	open := pglimit.New(nil, pglimit.Options{FailOpen: true})
	release, err := open.Acquire(t.Context(), tenant)
	require.NoError(t, err)
	release()
}

func TestEnsureOnUnreachableDatabase(t *testing.T) {
	err := pglimit.New(unreachable(t), pglimit.Options{}).Ensure(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pglimit: creating schema")
}
