package mock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock"
)

func TestStoreCountMarked(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	// Three invoices, A B C; each case marks and works some of them.
	tests := []struct {
		name       string
		prepare    func(ctx context.Context, t *testing.T, s *mock.Store)
		wantN      int
		wantOldest time.Time
	}{
		{"nothing marked", func(context.Context, *testing.T, *mock.Store) {}, 0, time.Time{}},
		{"marked at different times", func(ctx context.Context, t *testing.T, s *mock.Store) {
			mark(ctx, t, s, t0.Add(time.Hour), "id-b")
			mark(ctx, t, s, t0, "id-a")
			mark(ctx, t, s, t0.Add(2*time.Hour), "id-c")
		}, 3, t0},
		{"a leased claim still counts", func(ctx context.Context, t *testing.T, s *mock.Store) {
			mark(ctx, t, s, t0, "id-a", "id-b")
			_, err := s.ClaimUpdates(ctx, t0, 1, time.Minute)
			require.NoError(t, err)
		}, 2, t0},
		{"a completed claim does not", func(ctx context.Context, t *testing.T, s *mock.Store) {
			mark(ctx, t, s, t0, "id-a")
			mark(ctx, t, s, t0.Add(time.Minute), "id-b")
			claims, err := s.ClaimUpdates(ctx, t0, 1, time.Minute)
			require.NoError(t, err)
			_, err = s.CompleteUpdates(ctx, claims)
			require.NoError(t, err)
		}, 1, t0.Add(time.Minute)},
		{"set aside is not counted", func(ctx context.Context, t *testing.T, s *mock.Store) {
			mark(ctx, t, s, t0, "id-a")
			mark(ctx, t, s, t0.Add(time.Minute), "id-b")
			claims, err := s.ClaimUpdates(ctx, t0, 1, time.Minute)
			require.NoError(t, err)
			_, err = s.FailUpdate(ctx, claims[0], "boom", 1)
			require.NoError(t, err)
		}, 1, t0.Add(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := mock.NewStore()
			for _, n := range []string{"a", "b", "c"} {
				require.NoError(t, s.CreateInvoice(ctx, testInvoice("INV-"+n, "id-"+n)))
			}
			tt.prepare(ctx, t, s)
			var mc billing.MarkCounter = s
			n, oldest, err := mc.CountMarked(ctx)
			require.NoError(t, err)
			assert.Equal(t, tt.wantN, n)
			assert.True(t, tt.wantOldest.Equal(oldest), "oldest %s, want %s", oldest, tt.wantOldest)
		})
	}
}

func mark(ctx context.Context, t *testing.T, s *mock.Store, at time.Time, ids ...string) {
	t.Helper()
	_, err := s.MarkUpdateNeeded(ctx, ids, at)
	require.NoError(t, err)
}
