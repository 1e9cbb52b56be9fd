package pglimit

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ensureTimeout bounds Ensure when its context has no earlier deadline: it
// may wait for another replica's Ensure, but not forever.
const ensureTimeout = 30 * time.Second

// Buckets the day and the app's minute are counted in. The tenant's minute
// is an exact log of its calls (at most PerMinute of them); the day's 5,000
// and the app's 10,000 are counted per bucket, a call staying counted until
// its whole bucket has left the window: up to one bucket longer than an
// exact log would, never shorter.
const (
	dayBuckets       = 96  // a quarter of an hour of a 24h day
	appMinuteBuckets = 120 // half a second of a 60s minute
)

// Ensure creates the limiter's schema, tables and functions when they are
// missing, and replaces the functions with this version's. Every replica may
// call it at start: concurrent calls take turns under an advisory lock. It is
// bounded by ctx and at most 30s.
func (l *Limiter) Ensure(ctx context.Context) error {
	if l.db == nil {
		return &UnavailableError{Err: errNoDB}
	}
	ctx, cancel := context.WithTimeout(ctx, ensureTimeout)
	defer cancel()
	// No arguments: pgx sends it as one simple query, which PostgreSQL runs
	// as one transaction, so the advisory lock covers every statement.
	if _, err := l.db.Exec(ctx, ddl(l.opts.Schema)); err != nil {
		return fmt.Errorf("pglimit: creating schema %s: %w", l.schema, err)
	}
	return nil
}

// lockKey is the advisory lock Ensure holds, one per schema.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("amsbilling/pglimit:" + schema))
	return int64(h.Sum64())
}

// ddl is the schema. Times are microseconds since the Unix epoch by the
// database server's clock (clock_timestamp), so every replica's clock is
// irrelevant. The function bodies name the schema quoted, inside a dollar
// quote whose tag the name does not hold, so any name works.
//
// tenants holds each tenant's state: minute, the times of the calls in its
// rolling minute as counted (oldest first); day_bucket and day_count, its
// calls per bucket of the rolling day (oldest first); its pause; touched,
// its last call or answer, for the sweep. slots holds the concurrency slots
// taken and not yet released, each expiring on its own. app holds the
// app-wide pause and the app's calls per bucket of its rolling minute.
// fillfactor leaves room in each page so the frequent updates stay HOT.
func ddl(schema string) string {
	s := pgx.Identifier{schema}.Sanitize()
	return strings.NewReplacer("@S@", s, "@Q@", dollarTag(s), "@LOCK@", fmt.Sprint(lockKey(schema))).Replace(ddlTemplate)
}

// dollarTag is a dollar quote's tag that s does not contain, so s may be
// spliced into a function body quoted with it.
func dollarTag(s string) string {
	tag := "$fn$"
	for i := 0; strings.Contains(s, tag); i++ {
		tag = "$fn" + strconv.Itoa(i) + "$"
	}
	return tag
}

const ddlTemplate = `
SELECT pg_advisory_xact_lock(@LOCK@);
CREATE SCHEMA IF NOT EXISTS @S@;
CREATE TABLE IF NOT EXISTS @S@.tenants (
	tenant          text PRIMARY KEY,
	minute          bigint[] NOT NULL DEFAULT '{}',
	day_bucket      bigint[] NOT NULL DEFAULT '{}',
	day_count       int[]    NOT NULL DEFAULT '{}',
	paused_until    bigint   NOT NULL DEFAULT 0,
	pause_problem   text     NOT NULL DEFAULT '',
	pause_remaining int[]    NOT NULL DEFAULT '{-1,-1,-1,-1,-1}',
	touched         bigint   NOT NULL DEFAULT 0
) WITH (fillfactor = 50);
CREATE TABLE IF NOT EXISTS @S@.slots (
	tenant  text   NOT NULL,
	id      text   NOT NULL,
	expires bigint NOT NULL,
	PRIMARY KEY (tenant, id)
);
CREATE INDEX IF NOT EXISTS slots_expires ON @S@.slots (expires);
CREATE TABLE IF NOT EXISTS @S@.app (
	one             boolean  PRIMARY KEY DEFAULT true CHECK (one),
	minute_bucket   bigint[] NOT NULL DEFAULT '{}',
	minute_count    int[]    NOT NULL DEFAULT '{}',
	paused_until    bigint   NOT NULL DEFAULT 0,
	pause_remaining int[]    NOT NULL DEFAULT '{-1,-1,-1,-1,-1}',
	swept           bigint   NOT NULL DEFAULT 0
) WITH (fillfactor = 50);
INSERT INTO @S@.app DEFAULT VALUES ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION @S@.now_us() RETURNS bigint
LANGUAGE sql VOLATILE AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint $$;

-- The helpers below are PL/pgSQL, whose plans are cached, and loop over
-- arrays of at most a few hundred elements, kept in order.

-- prune_log keeps the times after p_after.
CREATE OR REPLACE FUNCTION @S@.prune_log(p_log bigint[], p_after bigint) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE AS @Q@
DECLARE i int := 1;
BEGIN
	WHILE i <= cardinality(p_log) AND p_log[i] <= p_after LOOP i := i + 1; END LOOP;
	RETURN coalesce(p_log[i:], '{}');
END
@Q@;

-- prune_buckets keeps the buckets (of length p_len) still inside a window
-- of p_window at p_now: a bucket leaves when its end has.
CREATE OR REPLACE FUNCTION @S@.prune_buckets(p_b bigint[], p_n int[], p_len bigint, p_window bigint, p_now bigint,
	OUT b bigint[], OUT n int[])
LANGUAGE plpgsql IMMUTABLE AS @Q@
DECLARE i int := 1;
BEGIN
	WHILE i <= cardinality(p_b) AND (p_b[i] + 1) * p_len + p_window <= p_now LOOP i := i + 1; END LOOP;
	b := coalesce(p_b[i:], '{}');
	n := coalesce(p_n[i:], '{}');
END
@Q@;

-- add_bucket adds p_k calls to bucket p_at, keeping the buckets in order.
CREATE OR REPLACE FUNCTION @S@.add_bucket(p_b bigint[], p_n int[], p_at bigint, p_k int,
	OUT b bigint[], OUT n int[])
LANGUAGE plpgsql IMMUTABLE AS @Q@
DECLARE i int := cardinality(p_b);
BEGIN
	b := p_b; n := p_n;
	WHILE i >= 1 AND b[i] > p_at LOOP i := i - 1; END LOOP;
	IF i >= 1 AND b[i] = p_at THEN
		n[i] := n[i] + p_k;
	ELSE
		b := coalesce(b[:i], '{}') || p_at || coalesce(b[i + 1:], '{}');
		n := coalesce(n[:i], '{}') || p_k || coalesce(n[i + 1:], '{}');
	END IF;
END
@Q@;

-- total is the sum of p_n.
CREATE OR REPLACE FUNCTION @S@.total(p_n int[]) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS @Q@
DECLARE v int := 0; c int;
BEGIN
	FOREACH c IN ARRAY p_n LOOP v := v + c; END LOOP;
	RETURN v;
END
@Q@;

-- acquire decides one call for a tenant and, when it may go ahead, records
-- it and takes a concurrency slot, in one transaction.
--
-- Returns code 0 when granted; 1 when refused for wait_us, kind saying why
-- (pause, app, day, minute, appcount) and, for a pause, problem and
-- remaining what Xero's answer said; 2 when every concurrency slot is taken.
-- Of several time-based reasons the longest is reported, so the wait is
-- honest. It gives up (an error, nothing recorded) rather than grant after
-- p_budget, since the caller has stopped waiting by then.
CREATE OR REPLACE FUNCTION @S@.acquire(
	p_tenant text, p_id text,
	p_per_minute int, p_span bigint,
	p_per_day int, p_day_window bigint, p_day_bucket bigint,
	p_concurrent int, p_slot_ttl bigint,
	p_app_per_minute int, p_app_bucket bigint,
	p_budget bigint,
	OUT code int, OUT wait_us bigint, OUT kind text, OUT problem text, OUT remaining int[])
LANGUAGE plpgsql AS @Q@
DECLARE
	t @S@.tenants%ROWTYPE;
	a @S@.app%ROWTYPE;
	v_now bigint;
	v_d bigint;
	v_used int;
	v_at bigint;
	v_last int;
BEGIN
	-- A lock held elsewhere fails this call rather than hold it; the
	-- limiter's counts may lose the last instant of commits in a crash.
	PERFORM set_config('lock_timeout', greatest(p_budget / 1000, 1) || 'ms', true);
	PERFORM set_config('synchronous_commit', 'off', true);
	code := 0; wait_us := 0; kind := ''; problem := ''; remaining := '{-1,-1,-1,-1,-1}';

	INSERT INTO @S@.tenants AS x (tenant) VALUES (p_tenant)
		ON CONFLICT (tenant) DO UPDATE SET tenant = x.tenant
		RETURNING * INTO t;
	v_now := @S@.now_us();
	t.minute := @S@.prune_log(t.minute, v_now - p_span);
	SELECT * INTO t.day_bucket, t.day_count FROM @S@.prune_buckets(t.day_bucket, t.day_count, p_day_bucket, p_day_window, v_now);
	SELECT * INTO a FROM @S@.app WHERE one;
	SELECT * INTO a.minute_bucket, a.minute_count FROM @S@.prune_buckets(a.minute_bucket, a.minute_count, p_app_bucket, p_span, v_now);

	IF t.paused_until - v_now > wait_us THEN
		wait_us := t.paused_until - v_now; kind := 'pause'; problem := t.pause_problem; remaining := t.pause_remaining;
	END IF;
	IF a.paused_until - v_now > wait_us THEN
		wait_us := a.paused_until - v_now; kind := 'app'; problem := ''; remaining := a.pause_remaining;
	END IF;
	v_used := @S@.total(t.day_count);
	IF v_used >= p_per_day THEN
		v_d := (t.day_bucket[1] + 1) * p_day_bucket + p_day_window - v_now;
		IF v_d > wait_us THEN wait_us := v_d; kind := 'day'; END IF;
	END IF;
	IF cardinality(t.minute) >= p_per_minute THEN
		v_d := t.minute[1] + p_span - v_now;
		IF v_d > wait_us THEN wait_us := v_d; kind := 'minute'; END IF;
	END IF;
	IF p_app_per_minute > 0 AND @S@.total(a.minute_count) >= p_app_per_minute THEN
		v_d := (a.minute_bucket[1] + 1) * p_app_bucket + p_span - v_now;
		IF v_d > wait_us THEN wait_us := v_d; kind := 'appcount'; END IF;
	END IF;
	IF wait_us > 0 THEN
		IF kind NOT IN ('pause', 'app') THEN problem := ''; remaining := '{-1,-1,-1,-1,-1}'; END IF;
		code := 1;
		RETURN;
	END IF;

	DELETE FROM @S@.slots WHERE tenant = p_tenant AND expires <= v_now;
	IF (SELECT count(*) FROM @S@.slots WHERE tenant = p_tenant) >= p_concurrent THEN
		code := 2;
		RETURN;
	END IF;

	-- Every call of the app takes the app's row last, and only to grant,
	-- so it is held for as short a time as can be.
	IF p_app_per_minute > 0 THEN
		SELECT * INTO a FROM @S@.app WHERE one FOR UPDATE;
		v_now := greatest(v_now, @S@.now_us());
		SELECT * INTO a.minute_bucket, a.minute_count FROM @S@.prune_buckets(a.minute_bucket, a.minute_count, p_app_bucket, p_span, v_now);
		IF a.paused_until > v_now THEN
			code := 1; wait_us := a.paused_until - v_now; kind := 'app'; remaining := a.pause_remaining;
			RETURN;
		END IF;
		IF @S@.total(a.minute_count) >= p_app_per_minute THEN
			code := 1; wait_us := (a.minute_bucket[1] + 1) * p_app_bucket + p_span - v_now; kind := 'appcount';
			RETURN;
		END IF;
		-- A clock stepping back counts the call in the newest bucket: later,
		-- so never too short.
		v_at := v_now / p_app_bucket;
		v_last := cardinality(a.minute_bucket);
		IF v_last > 0 AND a.minute_bucket[v_last] >= v_at THEN
			a.minute_count[v_last] := a.minute_count[v_last] + 1;
		ELSE
			a.minute_bucket := a.minute_bucket || v_at;
			a.minute_count := a.minute_count || 1;
		END IF;
		UPDATE @S@.app SET minute_bucket = a.minute_bucket, minute_count = a.minute_count;
	END IF;

	t.minute := t.minute || greatest(v_now, coalesce(t.minute[cardinality(t.minute)], 0));
	v_at := v_now / p_day_bucket;
	v_last := cardinality(t.day_bucket);
	IF v_last > 0 AND t.day_bucket[v_last] >= v_at THEN
		t.day_count[v_last] := t.day_count[v_last] + 1;
	ELSE
		t.day_bucket := t.day_bucket || v_at;
		t.day_count := t.day_count || 1;
	END IF;
	INSERT INTO @S@.slots (tenant, id, expires) VALUES (p_tenant, p_id, v_now + p_slot_ttl);
	UPDATE @S@.tenants SET minute = t.minute, day_bucket = t.day_bucket, day_count = t.day_count, touched = v_now
		WHERE tenant = p_tenant;

	-- Once a window, across every replica: drop expired slots and tenants
	-- idle for a whole day, so the tables follow the tenants in use.
	IF a.swept <= v_now - p_span THEN
		UPDATE @S@.app SET swept = v_now WHERE swept <= v_now - p_span;
		IF FOUND THEN
			DELETE FROM @S@.slots WHERE (tenant, id) IN
				(SELECT s.tenant, s.id FROM @S@.slots AS s WHERE s.expires <= v_now FOR UPDATE SKIP LOCKED);
			DELETE FROM @S@.tenants WHERE tenant IN
				(SELECT x.tenant FROM @S@.tenants AS x
				 WHERE x.touched < v_now - p_day_window - p_day_bucket - p_span AND x.paused_until <= v_now
				 FOR UPDATE SKIP LOCKED);
		END IF;
	END IF;

	IF clock_timestamp() - statement_timestamp() > p_budget * interval '1 microsecond' THEN
		RAISE EXCEPTION 'pglimit: the grant took longer than the caller waits; nothing recorded';
	END IF;
END
@Q@;

-- release gives back a concurrency slot.
CREATE OR REPLACE FUNCTION @S@.release(p_tenant text, p_id text) RETURNS void
LANGUAGE plpgsql AS @Q@
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	DELETE FROM @S@.slots WHERE tenant = p_tenant AND id = p_id;
END
@Q@;

-- observe records what a response said: the pauses it calls for (in order;
-- p_app[i] for the app's, p_until_frees[i] for one lasting until the oldest
-- call leaves the tenant's or the app's minute window, else p_for[i]), each
-- never shortening a longer one, then raises the tenant's minute and day
-- counts and the app's minute count (when counted) to what Xero reported
-- (-1: not reported) when Xero counts more (xerolimit.Raise, where the
-- counts are): raised minute calls stay a whole window as counted, raised
-- day calls at most p_raised_life.
CREATE OR REPLACE FUNCTION @S@.observe(
	p_tenant text,
	p_app boolean[], p_problem text[], p_for bigint[], p_until_frees boolean[], p_remaining int[],
	p_per_minute int, p_span bigint, p_minute_left int,
	p_per_day int, p_day_window bigint, p_day_bucket bigint, p_day_left int, p_raised_life bigint,
	p_app_per_minute int, p_app_bucket bigint, p_app_left int,
	p_budget bigint) RETURNS void
LANGUAGE plpgsql AS @Q@
DECLARE
	t @S@.tenants%ROWTYPE;
	a @S@.app%ROWTYPE;
	v_now bigint;
	v_until bigint;
	v_k int;
	i int;
BEGIN
	PERFORM set_config('lock_timeout', greatest(p_budget / 1000, 1) || 'ms', true);
	PERFORM set_config('synchronous_commit', 'off', true);
	INSERT INTO @S@.tenants AS x (tenant) VALUES (p_tenant)
		ON CONFLICT (tenant) DO UPDATE SET tenant = x.tenant
		RETURNING * INTO t;
	v_now := @S@.now_us();
	t.minute := @S@.prune_log(t.minute, v_now - p_span);
	SELECT * INTO a FROM @S@.app WHERE one;
	SELECT * INTO a.minute_bucket, a.minute_count FROM @S@.prune_buckets(a.minute_bucket, a.minute_count, p_app_bucket, p_span, v_now);

	FOR i IN 1 .. coalesce(cardinality(p_for), 0) LOOP
		v_until := v_now + p_for[i];
		IF p_until_frees[i] AND p_app[i] AND cardinality(a.minute_bucket) > 0 THEN
			v_until := (a.minute_bucket[1] + 1) * p_app_bucket + p_span;
		ELSIF p_until_frees[i] AND NOT p_app[i] AND cardinality(t.minute) > 0 THEN
			v_until := t.minute[1] + p_span;
		END IF;
		IF p_app[i] THEN
			UPDATE @S@.app SET paused_until = v_until, pause_remaining = p_remaining WHERE paused_until < v_until;
		ELSIF v_until > t.paused_until THEN
			t.paused_until := v_until; t.pause_problem := p_problem[i]; t.pause_remaining := p_remaining;
		END IF;
	END LOOP;

	IF p_minute_left >= 0 THEN
		v_k := greatest(p_per_minute - p_minute_left - cardinality(t.minute), 0);
		IF v_k > 0 THEN
			t.minute := t.minute || array_fill(greatest(v_now, coalesce(t.minute[cardinality(t.minute)], 0)), ARRAY[v_k]);
		END IF;
	END IF;
	IF p_day_left >= 0 THEN
		SELECT * INTO t.day_bucket, t.day_count FROM @S@.prune_buckets(t.day_bucket, t.day_count, p_day_bucket, p_day_window, v_now);
		v_k := greatest(p_per_day - p_day_left - @S@.total(t.day_count), 0);
		IF v_k > 0 THEN
			-- The bucket ending by the time p_raised_life before the window's
			-- end: the raised calls leave within p_raised_life.
			SELECT * INTO t.day_bucket, t.day_count
				FROM @S@.add_bucket(t.day_bucket, t.day_count, (v_now - p_day_window + p_raised_life) / p_day_bucket - 1, v_k);
		END IF;
	END IF;
	-- The app's row is taken only when Xero counts more than it does,
	-- which its wider rolling window makes rare.
	IF p_app_per_minute > 0 AND p_app_left >= 0
		AND p_app_per_minute - p_app_left > @S@.total(a.minute_count) THEN
		SELECT * INTO a FROM @S@.app WHERE one FOR UPDATE;
		SELECT * INTO a.minute_bucket, a.minute_count FROM @S@.prune_buckets(a.minute_bucket, a.minute_count, p_app_bucket, p_span, v_now);
		v_k := greatest(p_app_per_minute - p_app_left - @S@.total(a.minute_count), 0);
		IF v_k > 0 THEN
			SELECT * INTO a.minute_bucket, a.minute_count
				FROM @S@.add_bucket(a.minute_bucket, a.minute_count,
					greatest(v_now / p_app_bucket, coalesce(a.minute_bucket[cardinality(a.minute_bucket)], 0)), v_k);
			UPDATE @S@.app SET minute_bucket = a.minute_bucket, minute_count = a.minute_count;
		END IF;
	END IF;
	UPDATE @S@.tenants SET minute = t.minute, day_bucket = t.day_bucket, day_count = t.day_count,
		paused_until = t.paused_until, pause_problem = t.pause_problem, pause_remaining = t.pause_remaining,
		touched = v_now
		WHERE tenant = p_tenant;
END
@Q@;
`
