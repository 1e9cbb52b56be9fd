package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/amsbilling/sdk/internal/ctxwait"
	"github.com/amsbilling/sdk/webhook"
)

// WebhookEvent is one event of a webhook delivery, as Xero sends it.
type WebhookEvent struct {
	ResourceURL   string `json:"resourceUrl"`
	ResourceID    string `json:"resourceId"`
	EventDateUTC  string `json:"eventDateUtc"`  // "2026-01-31T01:15:39.902", UTC
	EventType     string `json:"eventType"`     // CREATE or UPDATE
	EventCategory string `json:"eventCategory"` // INVOICE or CREDITNOTE
	TenantID      string `json:"tenantId"`
	TenantType    string `json:"tenantType"` // ORGANISATION
	// Data is set on CREDITNOTE events: the credit note's type and status
	// when the event happened.
	Data *WebhookEventData `json:"data,omitempty"`
}

// WebhookEventData is the data of a CREDITNOTE event.
type WebhookEventData struct {
	Type   string `json:"Type"`   // ACCRECCREDIT
	Status string `json:"Status"` // AUTHORISED, PAID...
}

// Event categories the emulator sends.
const (
	CategoryInvoice    = "INVOICE"
	CategoryCreditNote = "CREDITNOTE"
)

// Delivery is one webhook delivery: a batch of events, posted until the
// receiver answered 200 or the attempts ran out.
type Delivery struct {
	Events             []WebhookEvent
	FirstEventSequence int64
	LastEventSequence  int64
	// Body is the payload exactly as posted; Signature its x-xero-signature.
	Body      []byte
	Signature string
	Attempts  []DeliveryAttempt
	Delivered bool // the receiver answered 200
}

// DeliveryAttempt is one POST of a Delivery.
type DeliveryAttempt struct {
	At     time.Time
	Status int    // 0 when the request failed
	Err    string // why the request failed, if it did
}

type queuedEvent struct {
	seq int64
	ev  WebhookEvent
}

// queueEvent queues an INVOICE event for delivery. e.mu must be held.
func (e *Emulator) queueEvent(invoiceID, eventType string, at time.Time) {
	e.queue(CategoryInvoice, "/Invoices/", invoiceID, eventType, at, nil)
}

// queueCreditNoteEvent queues a CREDITNOTE event, with the credit note's
// type and status as they are now. e.mu must be held.
func (e *Emulator) queueCreditNoteEvent(cn *CreditNote, eventType string, at time.Time) {
	e.queue(CategoryCreditNote, "/CreditNotes/", cn.CreditNoteID, eventType, at, &WebhookEventData{Type: cn.Type, Status: cn.Status})
}

// queue queues an event for delivery and starts the delivery goroutine if
// it is not running. e.mu must be held.
func (e *Emulator) queue(category, collection, id, eventType string, at time.Time, data *WebhookEventData) {
	if e.opts.WebhookURL == "" || e.closed {
		return
	}
	if e.webhooksOff {
		e.eventSeq++ // the event happened; its delivery is missed
		return
	}
	base := e.opts.BaseURL
	if base == "" {
		base = "https://api.xero.com"
	}
	e.eventSeq++
	e.pending = append(e.pending, queuedEvent{seq: e.eventSeq, ev: WebhookEvent{
		ResourceURL:   base + APIPath + collection + id,
		ResourceID:    id,
		EventDateUTC:  at.UTC().Format("2006-01-02T15:04:05.000"),
		EventType:     eventType,
		EventCategory: category,
		TenantID:      e.opts.TenantID,
		TenantType:    "ORGANISATION",
		Data:          data,
	}})
	if !e.workerRunning {
		e.workerRunning = true
		e.workerWG.Add(1)
		go e.deliverLoop()
	}
}

// deliverLoop posts queued events, everything queued so far in one batch,
// and exits when the queue is empty or the emulator is closed.
func (e *Emulator) deliverLoop() {
	defer e.workerWG.Done()
	for {
		e.mu.Lock()
		if len(e.pending) == 0 || e.workerCtx.Err() != nil {
			e.workerRunning = false
			for _, ch := range e.idleWaiters {
				close(ch)
			}
			e.idleWaiters = nil
			e.mu.Unlock()
			return
		}
		batch := e.pending
		e.pending = nil
		e.mu.Unlock()

		d := e.deliver(e.workerCtx, batch)

		e.mu.Lock()
		if len(e.deliveries) >= e.bounds.deliveries {
			e.deliveries = e.deliveries[1:]
		}
		e.deliveries = append(e.deliveries, d)
		e.mu.Unlock()
	}
}

// deliver posts one batch, retrying on anything but 200.
func (e *Emulator) deliver(ctx context.Context, batch []queuedEvent) Delivery {
	d := Delivery{FirstEventSequence: batch[0].seq, LastEventSequence: batch[len(batch)-1].seq}
	for _, q := range batch {
		d.Events = append(d.Events, q.ev)
	}
	body, err := json.Marshal(webhookPayload{
		Events:             d.Events,
		FirstEventSequence: d.FirstEventSequence,
		LastEventSequence:  d.LastEventSequence,
		Entropy:            entropy(),
	})
	if err != nil {
		d.Attempts = append(d.Attempts, DeliveryAttempt{At: e.now(), Err: "cannot encode the payload"})
		return d
	}
	d.Body = body
	d.Signature = webhook.Sign([]byte(e.opts.WebhookKey), body)

	for attempt := 1; attempt <= e.opts.WebhookMaxAttempts; attempt++ {
		if attempt > 1 {
			if ctxwait.Sleep(ctx, e.opts.WebhookRetryDelay, nil) != nil {
				break
			}
		}
		a := DeliveryAttempt{At: e.now()}
		a.Status, err = e.post(ctx, body, d.Signature)
		if err != nil {
			a.Err = err.Error()
		}
		d.Attempts = append(d.Attempts, a)
		e.log.LogAttrs(ctx, slog.LevelDebug, "xero emulator webhook",
			slog.Int("attempt", attempt), slog.Int("status", a.Status), slog.Int("events", len(d.Events)), slog.String("error", a.Err))
		if a.Status == http.StatusOK {
			d.Delivered = true
			break
		}
	}
	return d
}

func (e *Emulator) post(ctx context.Context, body []byte, signature string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(webhook.SignatureHeader, signature)
	resp, err := e.webhook.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// entropy is the random string Xero adds to every payload.
func entropy() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = 'A' + b[i]%26
	}
	return string(b)
}

// FlushWebhooks waits until every queued webhook has been delivered or given
// up on, or ctx ends. It fails with ErrClosed once the emulator is closed.
func (e *Emulator) FlushWebhooks(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	if !e.workerRunning {
		e.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	e.idleWaiters = append(e.idleWaiters, ch)
	e.mu.Unlock()

	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	return nil
}

// Webhooks returns the finished deliveries (delivered or given up), oldest
// first.
func (e *Emulator) Webhooks() []Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Delivery, len(e.deliveries))
	for i, d := range e.deliveries {
		d.Events = slices.Clone(d.Events)
		d.Attempts = slices.Clone(d.Attempts)
		d.Body = bytes.Clone(d.Body)
		out[i] = d
	}
	return out
}

// SetWebhooksEnabled switches webhook delivery off and on while the
// emulator runs, to test an app that misses webhooks. While off, changes
// queue no events: those events are never delivered, though they use up
// their sequence numbers, so the next delivery's FirstEventSequence shows
// the gap. Events queued before it was switched off are still delivered.
// Delivery is on from the start when Options.WebhookURL is set.
func (e *Emulator) SetWebhooksEnabled(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.webhooksOff = !on
}

// WebhooksEnabled reports whether webhook delivery is on (see
// SetWebhooksEnabled); it is false without Options.WebhookURL.
func (e *Emulator) WebhooksEnabled() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts.WebhookURL != "" && !e.webhooksOff
}
