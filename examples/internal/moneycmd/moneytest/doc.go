// Package moneytest is the money commands' test rig: an emulator server,
// the environment a command reads to reach it (with a SQLite store in a
// temporary directory and XERO_PAYMENT_ACCOUNT_CODE set to the emulator's
// bank account), invoices billed through the SDK as an app would, and a
// way to run a command and keep what it printed.
package moneytest
