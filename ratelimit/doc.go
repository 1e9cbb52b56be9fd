// Package ratelimit keeps an app inside Xero's API rate limits.
//
// Xero limits each tenant (organisation) to 60 calls a minute, 5 calls at
// once and 5,000 calls a day, and each app to 10,000 calls a minute across
// all its tenants; the windows are fixed and reset at a different time for
// each tenant. A call over a limit gets HTTP
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
// block until budget returns instead; every wait honours the context. A
// waiting Local counts its rolling minute Options.Margin (a second a
// minute by default) wider than Xero's, because it counts a call when the
// slot is taken and Xero when the request arrives: so a job can lean on it
// and use 98% of the budget with no 429. A 429 for the day's limit without
// Retry-After pauses an hour.
//
// Local counts only the calls made through it: other processes using the same
// tenant are invisible to it except through the headers passed to Observe.
package ratelimit
