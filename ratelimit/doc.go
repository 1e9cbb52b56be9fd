// Package ratelimit keeps an app inside Xero's API rate limits.
//
// Xero limits each tenant (organisation) to 60 calls in any rolling minute,
// 5 calls at once and 5,000 calls in any rolling 24 hours, and each app to
// 10,000 calls a minute across all its tenants. A call over a limit gets HTTP
// 429 with Retry-After and X-Rate-Limit-Problem headers.
//
// The SDK never retries a 429 by itself. Instead:
//
//   - FromResponse turns a 429 into a *RateLimitError carrying how long to
//     wait and which limit was hit; errors.Is(err, ErrRateLimited) matches it.
//   - ParseHeaders reads the rate-limit headers of any response.
//   - A Limiter is asked before every request (Acquire) and told about every
//     response (Observe). Local, the in-process Limiter, tracks each tenant's
//     rolling windows and in-flight calls and, after a 429, refuses further
//     calls for that tenant without touching the network until the wait is
//     over. Such refusals are *RateLimitError values with Local set.
//
// By default Local refuses fast, which suits request handlers: the caller
// shows "try again in 30s" to a person. Batch jobs can set Options.Wait to
// block until budget returns instead; every wait honours the context.
//
// Local counts only the calls made through it: other processes using the same
// tenant are invisible to it except through the headers passed to Observe.
package ratelimit
