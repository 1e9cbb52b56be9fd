// Package readmecheck holds no code: its test type-checks every Go snippet
// of the README against the module, so a snippet that no longer compiles
// (a renamed function, a missing return) fails CI.
package readmecheck
