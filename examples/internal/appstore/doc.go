// Package appstore opens the store the example programs share. server,
// create-invoice and fetch-invoice-updates must use the same database for
// the local webhook loop to work, so the default lives here once.
package appstore
