package applog

import (
	"io"
	"log/slog"
)

// New returns a text logger writing to w at level, or at Debug when debug
// (xero.Config.Debug, from XERO_DEBUG) is set.
func New(w io.Writer, level slog.Level, debug bool) *slog.Logger {
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
