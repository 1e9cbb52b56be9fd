// Package pglimit is a ratelimit.Limiter whose budgets live in PostgreSQL,
// so that every replica of an app shares each Xero tenant's limits, 60 calls
// in any rolling minute, 5 at once and 5,000 in any rolling day, and the
// app's 10,000 calls in any rolling minute across all its tenants, with no
// store but the database the app already has. It is the twin of
// redislimit: the same options, rules, errors and bounds.
//
// Each Acquire is one call of a PL/pgSQL function (one round trip once pgx
// has prepared it), timed by the database server's clock
// (clock_timestamp), which locks the tenant's row, drops what has left its
// windows, refuses with a *ratelimit.RateLimitError (Local set) or records
// the call and takes a concurrency slot. Observe shares what Xero's
// responses say: after a 429 every process refuses the tenant until
// Retry-After has passed. The rules are those of ratelimit.Local, through
// internal/xerolimit (see ratelimit's documentation), applied to the app's
// minute as to a tenant's since this limiter counts it too: Xero reporting
// fewer app calls left raises the count, and none left pauses every tenant
// until the app's window frees a call.
//
// # Windows
//
// The windows roll, as ratelimit.Local's and redislimit's do, while Xero's
// are fixed: a rolling count never lets more calls through than a fixed
// one. A tenant's minute is an exact log of its calls, counted Window plus
// Margin wide. Its day and the app's minute are counted in buckets (a
// ninety-sixth of DayWindow, a hundred-and-twentieth of Window), each call
// staying counted until its whole bucket has left the window: at most a
// bucket longer than exact, never shorter. So at Xero's numbers a day's
// calls are counted up to 15 minutes too long and the app's up to half a
// second.
//
// # Schema
//
// Ensure creates the schema (Options.Schema, default amsbilling_ratelimit),
// its three tables and its functions, and replaces the functions with this
// version's; every replica may run it at start. It drops nothing: should a
// later version change a function's arguments, the older one stays for the
// replicas still running it during a rolling upgrade. Xero's limits are per
// app, so Xero apps sharing one database need different schemas. Rows of a
// tenant idle for a day, and slots past their expiry, are swept once a
// window. A slot whose process died expires after Options.SlotTTL. The
// functions commit with synchronous_commit off: the limiter waits for no
// disk flush, and a database crash may forget the last instant of calls,
// which Xero's counts (see Observe) soon restore.
//
// Every Acquire of a tenant locks that tenant's row, and every grant
// briefly locks the one row counting the app's calls (set
// Options.AppPerMinute negative not to count them): at Xero's 10,000 calls
// a minute that is about 170 short transactions a second.
//
// When PostgreSQL cannot be reached Acquire returns an *UnavailableError (a
// temporary error, matching ErrUnavailable), or with Options.FailOpen lets
// the call through unlimited. xero.Client returns that error at once: it
// never retries a limiter failure, no request having been sent.
//
// # Bounds
//
// A limiter that cannot answer must not hold a call to Xero. Each Acquire
// attempt gives PostgreSQL Options.AcquireTimeout (default 500ms), and
// release and Observe, which run on the caller's goroutine after each
// response, Options.Timeout (default 500ms); after that Acquire answers as
// for an unreachable database (the error says "did not answer within
// 500ms") and release and Observe log a warning. The call runs under a
// context with that deadline, which pgx honours, and the limiter stops
// waiting for it when the deadline passes whatever DB it was given. On the
// server the functions set lock_timeout to the same bound, so a row locked
// elsewhere fails the call instead of queuing it, and a grant that could
// only be recorded after the bound is rolled back rather than left holding
// a slot nobody will release; should one be recorded all the same, the
// limiter gives its slot back in the background.
//
// Give the limiter a pool that fails fast when the database is down, for
// example with connect_timeout in the URL:
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db/app?connect_timeout=2")
//	limiter := pglimit.New(pool, pglimit.Options{})
//	err = limiter.Ensure(ctx)
package pglimit
