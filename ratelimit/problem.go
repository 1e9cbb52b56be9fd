package ratelimit

import "github.com/amsbilling/sdk/internal/xerolimit"

// Problem names the limit Xero says was hit, from the X-Rate-Limit-Problem
// header. Values other than the constants below keep Xero's text.
type Problem string

// The limits Xero reports in X-Rate-Limit-Problem.
const (
	ProblemMinute     Problem = xerolimit.ProblemMinute     // 60 calls a rolling minute per tenant
	ProblemDay        Problem = xerolimit.ProblemDay        // 5,000 calls a rolling day per tenant
	ProblemConcurrent Problem = xerolimit.ProblemConcurrent // 5 calls at once per tenant
	ProblemAppMinute  Problem = xerolimit.ProblemAppMinute  // 10,000 calls a minute per app
)

// String describes the limit in words fit for a person.
func (p Problem) String() string {
	switch p {
	case "":
		return "rate limit"
	case ProblemMinute:
		return "minute limit"
	case ProblemDay:
		return "daily limit"
	case ProblemConcurrent:
		return "concurrent request limit"
	case ProblemAppMinute:
		return "app-wide minute limit"
	default:
		return string(p) + " limit"
	}
}
