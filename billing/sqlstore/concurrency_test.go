package sqlstore_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/billing/sqlstore"
	"github.com/amsbilling/sdk/billing/sqlstore/internal/sqltest"
)

// These tests run each party on its own Store, so on PostgreSQL each has its
// own connection pool, and on SQLite its own connection to the file: the
// situation of several processes sharing one database.

var epoch = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

func pid(n int) string { return fmt.Sprintf("inv-%03d", n) }

// seed creates invoices 1..n and returns their provider ids.
func seed(t *testing.T, s *sqlstore.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = pid(i + 1)
		inv := billing.Invoice{
			Account:    billing.UserAccount(fmt.Sprintf("user-%d", i%5)),
			Number:     fmt.Sprintf("INV-%04d", i+1),
			ProviderID: ids[i],
			Status:     billing.StatusAuthorised,
		}
		require.NoError(t, s.CreateInvoice(t.Context(), inv))
	}
	return ids
}

// TestFourFetchersDisjoint: four fetchers claiming at once, each through its
// own connections, never get the same invoice, and together get them all.
func TestFourFetchersDisjoint(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			const invoices, fetchers = 60, 4
			ids := seed(t, s, invoices)
			n, err := s.MarkUpdateNeeded(ctx, ids, epoch)
			require.NoError(t, err)
			require.Equal(t, invoices, n)

			got := make([][]string, fetchers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for f := range fetchers {
				fs := b.Reopen(t, s)
				wg.Go(func() {
					<-start
					for range invoices { // bounded: each round claims at least one
						claims, err := fs.ClaimUpdates(ctx, epoch.Add(time.Minute), 4, time.Hour)
						if !assert.NoError(t, err) || len(claims) == 0 {
							return
						}
						for _, c := range claims {
							got[f] = append(got[f], c.ProviderID)
						}
					}
				})
			}
			close(start)
			wg.Wait()

			owner := map[string]int{}
			for f, claimed := range got {
				for _, id := range claimed {
					prev, dup := owner[id]
					require.False(t, dup, "%s claimed by fetchers %d and %d", id, prev, f)
					owner[id] = f
				}
			}
			require.Len(t, owner, invoices, "some invoices were never claimed")
		})
	}
}

// TestMarkDuringFetchSurvives: a webhook mark that lands between a claim and
// its completion keeps the flag, with the same or a later time, and the next
// fetch picks it up.
func TestMarkDuringFetchSurvives(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			fetcher := b.Open(t)
			webhook := b.Reopen(t, fetcher)
			seed(t, fetcher, 1)
			now := epoch.Add(time.Hour)

			for _, markAt := range []time.Time{epoch, epoch.Add(-time.Minute), epoch.Add(time.Minute)} {
				_, err := webhook.MarkUpdateNeeded(ctx, []string{pid(1)}, epoch)
				require.NoError(t, err)
				claims, err := fetcher.ClaimUpdates(ctx, now, 10, time.Hour)
				require.NoError(t, err)
				require.Len(t, claims, 1)

				// The webhook marks while the fetch runs (same time, a clock
				// step back, a later time).
				_, err = webhook.MarkUpdateNeeded(ctx, []string{pid(1)}, markAt)
				require.NoError(t, err)
				cleared, err := fetcher.CompleteUpdate(ctx, claims[0])
				require.NoError(t, err)
				require.False(t, cleared, "mark at %s was lost", markAt)

				inv, err := fetcher.InvoiceByProviderID(ctx, pid(1))
				require.NoError(t, err)
				require.True(t, inv.UpdateNeeded)
				require.True(t, inv.UpdateRequestedAt.After(claims[0].RequestedAt), "token did not move")

				again, err := fetcher.ClaimUpdates(ctx, now, 10, time.Hour)
				require.NoError(t, err)
				require.Len(t, again, 1, "the new mark is claimable at once")
				require.Equal(t, inv.UpdateRequestedAt, again[0].RequestedAt)
				cleared, err = fetcher.CompleteUpdate(ctx, again[0])
				require.NoError(t, err)
				require.True(t, cleared)
			}
		})
	}
}

// TestWebhooksRaceFetchers: many goroutines mark invoices (several ids per
// call, colliding times) while fetchers claim, complete, fail and release.
// No call may fail (a deadlock or SQLITE_BUSY would), and in the end every
// invoice was cleared by a completion whose token was its last mark. Half
// the fetch rounds complete with CompleteUpdate, half with CompleteUpdates.
func TestWebhooksRaceFetchers(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			const (
				invoices  = 30
				webhooks  = 8
				marksEach = 30
				fetchers  = 4
				maxRounds = 20 * webhooks * marksEach
			)
			ids := seed(t, s, invoices)
			now := epoch.Add(time.Hour)

			// On PostgreSQL every fetcher has its own pool and the webhooks
			// share three more. On SQLite two stores play two processes, each
			// running webhooks and fetchers on its one connection: goroutines
			// queue for the connection, processes for SQLite's file lock.
			var hookStores, fetchStores []*sqlstore.Store
			if s.Dialect() == sqlstore.SQLite {
				hookStores = []*sqlstore.Store{s, b.Reopen(t, s)}
				for f := range fetchers {
					fetchStores = append(fetchStores, hookStores[f%2])
				}
			} else {
				for range 3 {
					hookStores = append(hookStores, b.Reopen(t, s))
				}
				for range fetchers {
					fetchStores = append(fetchStores, b.Reopen(t, s))
				}
			}

			var (
				mu      sync.Mutex
				cleared = map[string]map[time.Time]bool{} // tokens cleared by a completion
			)
			var marksDone atomic.Bool
			var rounds atomic.Int64
			start := make(chan struct{})
			var hooksWG, fetchWG sync.WaitGroup
			for w := range webhooks {
				hs := hookStores[w%len(hookStores)]
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				hooksWG.Go(func() {
					<-start
					for i := range marksEach {
						batch := make([]string, 1+rng.IntN(4))
						for j := range batch {
							batch[j] = ids[rng.IntN(invoices)]
						}
						// Few distinct times: many marks share a microsecond
						// or go back in time, exercising the +1µs rule.
						at := epoch.Add(time.Duration(i/3) * time.Microsecond)
						if _, err := hs.MarkUpdateNeeded(ctx, batch, at); !assert.NoError(t, err, "MarkUpdateNeeded") {
							return
						}
					}
				})
			}
			for f := range fetchers {
				fs := fetchStores[f]
				fetchWG.Go(func() {
					<-start
					for round := 0; ; round++ {
						done := marksDone.Load()
						claims, err := fs.ClaimUpdates(ctx, now, 5, time.Hour)
						if !assert.NoError(t, err, "ClaimUpdates") {
							return
						}
						if len(claims) == 0 {
							if done {
								return
							}
							continue
						}
						if rounds.Add(1) > maxRounds {
							assert.Fail(t, "claims never run out")
							return
						}
						switch round % 7 {
						case 3: // rate limited: nothing fetched
							if !assert.NoError(t, fs.ReleaseClaims(ctx, claims), "ReleaseClaims") {
								return
							}
							continue
						case 5: // the provider failed the first invoice
							if _, err := fs.FailUpdate(ctx, claims[0], "HTTP 503", 0); !assert.NoError(t, err, "FailUpdate") {
								return
							}
							claims = claims[1:]
						}
						// Half the rounds end their claims in one batch.
						oks := make([]bool, len(claims))
						if round%2 == 0 {
							oks, err = fs.CompleteUpdates(ctx, claims)
							if !assert.NoError(t, err, "CompleteUpdates") {
								return
							}
						} else {
							for i, c := range claims {
								oks[i], err = fs.CompleteUpdate(ctx, c)
								if !assert.NoError(t, err, "CompleteUpdate") {
									return
								}
							}
						}
						for i, c := range claims {
							if oks[i] {
								mu.Lock()
								if cleared[c.ProviderID] == nil {
									cleared[c.ProviderID] = map[time.Time]bool{}
								}
								cleared[c.ProviderID][c.RequestedAt] = true
								mu.Unlock()
							}
						}
					}
				})
			}
			close(start)
			hooksWG.Wait()
			marksDone.Store(true)
			fetchWG.Wait()
			if t.Failed() {
				return
			}

			for _, id := range ids {
				inv, err := s.InvoiceByProviderID(ctx, id)
				require.NoError(t, err)
				if inv.UpdateRequestedAt.IsZero() {
					continue // never marked
				}
				require.False(t, inv.UpdateNeeded, "%s still flagged after the fetchers drained", id)
				require.True(t, cleared[id][inv.UpdateRequestedAt],
					"%s: cleared, but no completion fetched its last mark at %s", id, inv.UpdateRequestedAt.Format(time.RFC3339Nano))
			}
		})
	}
}

// TestDeliverersInOrderWhileSaving: producers save overlapping batches of
// states (in different orders, from their own stores) while deliverers,
// each on its own store, claim and deliver the events. No call may fail
// (a deadlock would), no event is claimed twice, and each invoice's events
// reach the deliverers in the order saved: each one's Before is the
// previous one's After, from the invoice as created to its final state.
func TestDeliverersInOrderWhileSaving(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := b.Open(t)
			const (
				invoices   = 12
				producers  = 3
				batches    = 15
				deliverers = 4
			)
			ids := seed(t, s, invoices)
			now := epoch.Add(time.Hour)

			var stores []*sqlstore.Store
			for range producers + deliverers {
				if s.Dialect() == sqlstore.SQLite {
					stores = append(stores, s) // one connection, shared
				} else {
					stores = append(stores, b.Reopen(t, s))
				}
			}
			if s.Dialect() == sqlstore.SQLite {
				stores[1] = b.Reopen(t, s) // and a second process
				stores[producers+1] = stores[1]
			}

			var (
				mu        sync.Mutex
				saves     = map[string]int{}         // changes saved, by provider id
				delivered = map[string][][2]string{} // (before, after) references, by provider id
				claimed   = map[string]bool{}        // event ids
			)
			var producing atomic.Int64
			producing.Store(producers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for p := range producers {
				ps := stores[p]
				rng := rand.New(rand.NewPCG(uint64(p), 2))
				wg.Go(func() {
					defer producing.Add(-1)
					<-start
					for k := range batches {
						var invs []billing.Invoice
						for _, i := range rng.Perm(invoices)[:1+rng.IntN(5)] {
							invs = append(invs, billing.Invoice{
								ProviderID: ids[i], Status: billing.StatusAuthorised,
								Reference: fmt.Sprintf("producer %d batch %d", p, k),
							})
						}
						saved, err := ps.SaveInvoiceStates(ctx, invs)
						if !assert.NoError(t, err, "SaveInvoiceStates") {
							return
						}
						mu.Lock()
						for i, sv := range saved {
							assert.NoError(t, sv.Err)
							assert.True(t, sv.Changed, "a new reference is a change")
							saves[invs[i].ProviderID]++
						}
						mu.Unlock()
					}
				})
			}
			for d := range deliverers {
				ds := stores[producers+d]
				wg.Go(func() {
					<-start
					// Until the producers are done and a claim finds nothing:
					// whoever still holds events claims again after delivering
					// them, so the last deliverer drains the queue. Every
					// claimed event is new (checked below), so this ends.
					for {
						done := producing.Load() == 0
						evs, err := ds.ClaimEvents(ctx, now, 3, time.Hour)
						if !assert.NoError(t, err, "ClaimEvents") {
							return
						}
						if len(evs) == 0 {
							if done {
								return
							}
							runtime.Gosched()
							continue
						}
						for _, ev := range evs {
							mu.Lock()
							dup := claimed[ev.ID]
							claimed[ev.ID] = true
							id := ev.Change.After.ProviderID
							delivered[id] = append(delivered[id], [2]string{ev.Change.Before.Reference, ev.Change.After.Reference})
							mu.Unlock()
							if !assert.False(t, dup, "event %s claimed twice", ev.ID) {
								return
							}
							if !assert.NoError(t, ds.EventDelivered(ctx, ev.ID), "EventDelivered") {
								return
							}
						}
					}
				})
			}
			close(start)
			wg.Wait()
			if t.Failed() {
				return
			}

			pending, err := s.PendingEvents(ctx, 0)
			require.NoError(t, err)
			require.Empty(t, pending, "events left undelivered")
			for _, id := range ids {
				chain := delivered[id]
				require.Len(t, chain, saves[id], "%s: one event per change", id)
				prev := "" // as created
				for k, c := range chain {
					require.Equal(t, prev, c[0], "%s: event %d does not follow the one before", id, k)
					prev = c[1]
				}
				inv, err := s.InvoiceByProviderID(ctx, id)
				require.NoError(t, err)
				require.Equal(t, prev, inv.Reference, "%s: the last event is not the state saved", id)
			}
		})
	}
}
