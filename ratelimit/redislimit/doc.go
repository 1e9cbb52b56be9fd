// Package redislimit is a ratelimit.Limiter whose budgets live in Redis, so
// that every replica of an app shares each Xero tenant's limits: 60 calls in
// any rolling minute, 5 at once and 5,000 in any rolling day, and the
// app-wide pause after Xero reports its per-app limit. ratelimit.Local counts
// per process, so three replicas would each allow 60 calls a minute.
//
// Each Acquire runs one atomic Lua script per tenant, timed by the Redis
// server's clock, which drops expired entries, refuses with a
// *ratelimit.RateLimitError (Local set) or records the call and takes a
// concurrency slot. Observe shares what Xero's responses say: after a 429
// every process refuses the tenant until Retry-After has passed. The rules
// are those of ratelimit.Local; see its documentation.
//
// Keys start with Options.KeyPrefix and carry the tenant, escaped, in a hash
// tag ({tenant}), so one tenant's keys sit in one Redis Cluster slot. Every
// key expires, so an idle tenant leaves nothing behind; a slot whose process
// died expires after Options.SlotTTL.
//
// When Redis cannot be reached Acquire returns an *UnavailableError (a
// temporary error, matching ErrUnavailable), or with Options.FailOpen lets
// the call through unlimited. xero.Client returns that error at once: it
// never retries a limiter failure, no request having been sent.
//
// # Bounds
//
// A limiter that cannot answer must not hold a call to Xero. Each Acquire
// attempt gives Redis Options.AcquireTimeout (default 500ms), and release
// and Observe, which run on the caller's goroutine after each response,
// Options.Timeout (default 500ms); after that Acquire answers as for an
// unreachable Redis (the error says "did not answer within 500ms") and
// release and Observe log a warning. The bound holds whatever the Redis
// client's options: the command runs under a context with that deadline,
// and the limiter stops waiting for it when the deadline passes.
//
// go-redis honours a context deadline on reads only with
// ContextTimeoutEnabled; without it, an abandoned command goes on in the
// background until the client's ReadTimeout (and MaxRetries) end it, holding
// a pool connection meanwhile. Recommended client options for a limiter:
//
//	redis.NewClient(&redis.Options{
//		Addr:                  addr,
//		ContextTimeoutEnabled: true,                   // stop at the limiter's deadline
//		DialTimeout:           250 * time.Millisecond, // fail fast when Redis is down
//		ReadTimeout:           250 * time.Millisecond,
//		WriteTimeout:          250 * time.Millisecond,
//		MaxRetries:            1,
//	})
package redislimit
