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
// the call through unlimited. For the caller's context deadlines to bound
// Redis I/O, enable ContextTimeoutEnabled on the Redis client.
package redislimit
