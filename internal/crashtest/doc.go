// Package crashtest holds no code: its tests are the crash campaigns behind
// the SDK's exactly-once guarantees. Each re-executes its own binary as an
// app, kills it with SIGKILL at each step that matters and at random
// moments, resumes it the way an app would, and then counts what Xero (the
// emulator) and the store hold: for invoice creation; for payments, one by
// one and in files of 60, and for credit notes allocated or refunded (the
// money operations, resolved at each start as the cron does); and for
// events, where an app killed inside its hook delivers the event again
// after the restart, with the same id.
package crashtest
