// Package ctxwait holds the one context-aware sleep every package uses, so
// no wait in the SDK outlives its context.
package ctxwait
