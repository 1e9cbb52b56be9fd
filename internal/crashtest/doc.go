// Package crashtest holds no code: its test is the crash campaign behind the
// SDK's exactly-once guarantee for invoice creation. The test re-executes
// its own binary as an app that bills members, kills it with SIGKILL at
// each step that matters and at random moments, resumes it the way an app
// would, and then counts what Xero (the emulator) and the store hold; and
// the one behind at-least-once events: an app killed inside its hook
// delivers the event again after the restart, with the same id.
package crashtest
