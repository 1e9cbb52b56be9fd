package storetest_test

import "testing"

// The suite itself runs against the in-memory store, so a change to it that
// rejects a correct store fails here first.
func TestRunMockStore(t *testing.T) { conformance(t) }
