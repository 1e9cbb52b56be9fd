// Package xerolimit holds Xero's published limits and header names, so the
// client, the limiters and the emulator use one set of numbers.
package xerolimit
