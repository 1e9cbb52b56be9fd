// Package applog builds the examples' one logger rule: text to the given
// writer at the command's usual level, or at Debug when XERO_DEBUG asks for
// the HTTP exchanges (secrets redacted by the client).
package applog
