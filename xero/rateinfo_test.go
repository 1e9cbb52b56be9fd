package xero_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/ratelimit"
)

// LastRateInfo reports the latest answer's X-DayLimit-Remaining and the
// other counts; answers without them (the connections list) leave it be.
func TestLastRateInfo(t *testing.T) {
	client, _ := emulatorClient(t, emulator.Options{RateLimit: emulator.Limits{PerDay: 100, PerMinute: 10}})
	info, at := client.LastRateInfo()
	assert.True(t, at.IsZero(), "nothing seen yet")
	assert.Equal(t, ratelimit.Info{}, info)

	_, err := client.Connections(t.Context())
	require.NoError(t, err)
	_, at = client.LastRateInfo()
	assert.True(t, at.IsZero(), "the connections list carries no counts")

	_, err = client.Organisation(t.Context())
	require.NoError(t, err)
	info, at = client.LastRateInfo()
	assert.False(t, at.IsZero())
	assert.Equal(t, 99, info.Remaining.Day)
	assert.Equal(t, 9, info.Remaining.Minute)
	assert.Empty(t, info.Problem)

	_, err = client.Currencies(t.Context())
	require.NoError(t, err)
	info, later := client.LastRateInfo()
	assert.Equal(t, 98, info.Remaining.Day)
	assert.False(t, later.Before(at))
}

// A 429 is observed too: its problem, and counts left out are -1.
func TestLastRateInfoAfterARateLimit(t *testing.T) {
	client, emu := emulatorClient(t, emulator.Options{})
	_, err := client.Organisation(t.Context())
	require.NoError(t, err)
	emu.InjectFault(emulator.Fault{Status: http.StatusTooManyRequests, Path: emulator.APIPath})
	_, err = client.Organisation(t.Context())
	var rl *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rl)
	info, _ := client.LastRateInfo()
	assert.Equal(t, ratelimit.ProblemMinute, info.Problem)
	assert.Equal(t, -1, info.Remaining.Day)
}

// A spent day is reported as 0 left; the limiter then refuses locally, and
// nothing new is observed.
func TestLastRateInfoDaySpent(t *testing.T) {
	client, _ := emulatorClient(t, emulator.Options{RateLimit: emulator.Limits{PerDay: 1}})
	_, err := client.Organisation(t.Context())
	require.NoError(t, err)
	info, at := client.LastRateInfo()
	assert.Equal(t, 0, info.Remaining.Day)
	_, err = client.Organisation(t.Context())
	var rl *ratelimit.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.True(t, rl.Local)
	_, again := client.LastRateInfo()
	assert.Equal(t, at, again)
}
