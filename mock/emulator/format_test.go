package emulator_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amsbilling/sdk/mock/emulator"
)

func TestEmulatorNeverPrintsSecrets(t *testing.T) {
	e := emulator.New(emulator.Options{ClientSecret: "emu-secret-not-printed", WebhookKey: "emu-key-not-printed"})
	defer e.Close()
	out := fmt.Sprintf("%v %+v %#v %s", e, e, e, e)
	assert.NotContains(t, out, "emu-secret-not-printed")
	assert.NotContains(t, out, "emu-key-not-printed")
	assert.Contains(t, out, "emulator.Emulator{tenant: ")
}
