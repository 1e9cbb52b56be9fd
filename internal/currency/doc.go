// Package currency holds the one check of an ISO 4217 code's form, used by
// the configuration and the emulator alike.
package currency
