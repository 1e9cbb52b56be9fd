package doctor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// Write prints one line per check (Check.String) to w.
func Write(w io.Writer, checks []Check) error {
	for _, c := range checks {
		if _, err := fmt.Fprintln(w, c); err != nil {
			return err
		}
	}
	return nil
}

// Log logs each check on logger: a failure at Error, a warning at Warn, a
// pass at Info and a skipped check at Debug, with what was found and, for a
// failure or a warning, the variable and the fix.
func Log(ctx context.Context, logger *slog.Logger, checks []Check) {
	for _, c := range checks {
		level, msg := slog.LevelInfo, "billing check passed"
		switch c.Status {
		case Warn:
			level, msg = slog.LevelWarn, "billing check warns"
		case Fail:
			level, msg = slog.LevelError, "billing check failed"
		case Skip:
			level, msg = slog.LevelDebug, "billing check skipped"
		}
		attrs := []slog.Attr{slog.String("check", c.Name), slog.String("found", c.Found)}
		if c.Var != "" {
			attrs = append(attrs, slog.String("fix_var", c.Var))
		}
		if c.Fix != "" {
			attrs = append(attrs, slog.String("fix", c.Fix))
		}
		logger.LogAttrs(ctx, level, msg, attrs...)
	}
}
