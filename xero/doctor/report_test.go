package doctor_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amsbilling/sdk/xero/doctor"
)

func TestCheckString(t *testing.T) {
	tests := []struct {
		check doctor.Check
		want  string
	}{
		{doctor.Check{Name: "tenant", Status: doctor.Pass, Found: "ok"}, "✓ tenant: ok"},
		{doctor.Check{Name: "tenant", Status: doctor.Fail, Found: "wrong", Var: "XERO_TENANT_ID", Fix: "set it"}, "✗ tenant: wrong — fix XERO_TENANT_ID: set it"},
		{doctor.Check{Name: "marked invoices", Status: doctor.Warn, Found: "old", Fix: "run cron"}, "! marked invoices: old — fix: run cron"},
		{doctor.Check{Name: "rate budget", Found: "not checked"}, "- rate budget: not checked"},
		{doctor.Check{Name: "database", Status: doctor.Fail, Found: "did not open: connect:\n\tdial error\n\tdial error\r\n", Fix: "check\x1bit"}, "✗ database: did not open: connect:; dial error; dial error — fix: check it"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.check.String())
		})
	}
}

func TestLog(t *testing.T) {
	checks := []doctor.Check{
		{Name: "credentials", Status: doctor.Fail, Found: "refused", Var: "XERO_CLIENT_SECRET", Fix: "copy it"},
		{Name: "demo company", Status: doctor.Warn, Found: "demo", Var: "XERO_EMAIL_INVOICES", Fix: "set it to false"},
		{Name: "tenant", Status: doctor.Pass, Found: "fine"},
		{Name: "rate budget", Status: doctor.Skip, Found: "not checked"},
	}
	tests := []struct {
		level slog.Level
		want  []string
		not   []string
	}{
		{slog.LevelError, []string{`level=ERROR msg="billing check failed" check=credentials found=refused fix_var=XERO_CLIENT_SECRET fix="copy it"`}, []string{"WARN", "INFO", "DEBUG"}},
		{slog.LevelInfo, []string{`level=WARN msg="billing check warns" check="demo company"`, `level=INFO msg="billing check passed" check=tenant found=fine`}, []string{"DEBUG"}},
		{slog.LevelDebug, []string{`level=DEBUG msg="billing check skipped" check="rate budget"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			var b strings.Builder
			logger := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: tt.level,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				}}))
			doctor.Log(t.Context(), logger, checks)
			for _, w := range tt.want {
				assert.Contains(t, b.String(), w)
			}
			for _, n := range tt.not {
				assert.NotContains(t, b.String(), n)
			}
		})
	}
}
