package xerolimit

import "time"

// Per-tenant and per-app API limits (Xero's "OAuth 2.0 API limits" page).
// Windows are fixed, not rolling, and reset at different times per tenant.
const (
	PerMinute    = 60             // calls per tenant per Minute window
	Minute       = time.Minute    // the minute window
	Concurrent   = 5              // calls in flight per tenant
	PerDay       = 5000           // calls per tenant per Day window
	Day          = 24 * time.Hour // the day window
	AppPerMinute = 10000          // calls per app, all tenants, per minute
)

// Request-size limits.
const (
	// MaxURLLength is the longest request URL Xero's gateway serves; past
	// about 2,091 characters it answers 404 (Xero-OpenAPI #534,
	// Xero-NetStandard #413 and #471, xero-node #404). We stay under it
	// with a margin for the host and other query parameters.
	MaxURLLength = 2048
	// GatewayMaxURLLength is the longest request URL, scheme and host
	// included, that Xero's gateway passes on: a longer one gets 404 "The
	// resource you're looking for cannot be found", whatever it asked for.
	// Xero-NetStandard #471 measures it (a URL of more than 2,091
	// characters); Xero-OpenAPI #534, Xero-NetStandard #413 and xero-node
	// #404 meet it as 52 GUIDs in IDs= passing and 53 failing.
	GatewayMaxURLLength = 2091
	// MaxWriteRecords is how many records one PUT/POST carries at most.
	MaxWriteRecords = 50
	// MaxWriteBytes is the largest request body Xero accepts (3.5 MB).
	MaxWriteBytes = 3_500_000
	// MaxIdempotencyKey is the longest Idempotency-Key Xero accepts.
	MaxIdempotencyKey = 128
	// MaxPageSize is the largest pageSize Xero serves on paged lists.
	MaxPageSize = 1000
)

// Header names Xero uses for rate limits.
const (
	HeaderRetryAfter           = "Retry-After"
	HeaderProblem              = "X-Rate-Limit-Problem"
	HeaderMinLimitRemaining    = "X-MinLimit-Remaining"
	HeaderDayLimitRemaining    = "X-DayLimit-Remaining"
	HeaderAppMinLimitRemaining = "X-AppMinLimit-Remaining"
)

// Values of HeaderProblem on a 429.
const (
	ProblemMinute     = "minute"
	ProblemDay        = "day"
	ProblemConcurrent = "concurrent"
	ProblemAppMinute  = "appminute"
)
