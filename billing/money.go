package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// ErrInvalidPayment: the parameters of a payment, a payment reversal, a
// credit note, an allocation, a refund or a void that cannot be sent. The
// error names every problem; nothing was recorded or sent.
var ErrInvalidPayment = errors.New("billing: invalid money operation")

// MoneyKind is what a money operation does at the provider.
type MoneyKind string

// The kinds of money operation.
const (
	KindPayment         MoneyKind = "payment"          // a payment against an invoice
	KindPaymentReversal MoneyKind = "payment_reversal" // a payment deleted
	KindCreditNote      MoneyKind = "credit_note"      // a sales credit note for an invoice
	KindAllocation      MoneyKind = "allocation"       // a credit note allocated to an invoice
	KindRefund          MoneyKind = "refund"           // a credit note paid back to the member
	KindVoid            MoneyKind = "void"             // an invoice voided
)

// Payment statuses as Xero reports them.
const (
	PaymentAuthorised = "AUTHORISED"
	PaymentDeleted    = "DELETED"
)

// Credit note statuses are the invoice ones (StatusAuthorised, StatusPaid
// once fully allocated or refunded, StatusVoided...).

// MoneyOp is one operation that moves money at the provider, recorded
// durably before the provider is called, exactly as a Creation is for an
// invoice: a crash or an unknown outcome leaves it pending, and it is then
// resolved (what the provider made found and adopted, or, only when the
// provider certainly made nothing, sent again), never repeated blindly.
// Once done it stays recorded, so asking again for the same logical
// operation (its Fingerprint) returns what was done instead of moving money
// twice.
//
// Build one with NewMoneyOp, which validates the parameters and derives
// Kind and Fingerprint from them.
type MoneyOp struct {
	// Key is the idempotency key sent with every attempt. Unique.
	Key string
	// Kind says which field of Params is set.
	Kind MoneyKind
	// Fingerprint identifies the logical operation (MoneyParams.Fingerprint).
	// Unique.
	Fingerprint string
	Params      MoneyParams
	CreatedAt   time.Time
	// LeaseUntil keeps other resolvers away while one works on the
	// operation (the first call included).
	LeaseUntil time.Time
	// Done is set once the provider's answer is saved (CompleteOps), and
	// ProviderID then holds the id of what the operation made or changed:
	// the payment, the reversed payment, the credit note, the allocation
	// (empty when the provider gives allocations no id), the refund
	// payment, or the voided invoice.
	Done       bool
	ProviderID string
}

// MoneyParams are the parameters of one money operation: exactly one field
// is set. They are stored with the operation (as JSON), so a pending one can
// be resolved and, if the provider has nothing, sent again.
type MoneyParams struct {
	Payment    *PaymentParams    `json:",omitempty"`
	Reversal   *ReversalParams   `json:",omitempty"`
	CreditNote *CreditNoteParams `json:",omitempty"`
	Allocation *AllocationParams `json:",omitempty"`
	Refund     *RefundParams     `json:",omitempty"`
	Void       *VoidParams       `json:",omitempty"`
}

// PaymentParams record a payment the app took (card, direct debit...)
// against an invoice. The logical payment is (InvoiceID, Reference): asking
// again with the same pair returns the first payment, whatever the amount.
type PaymentParams struct {
	InvoiceID string // the provider's invoice id
	Amount    decimal.Decimal
	Date      Date
	Reference string
	// AccountCode is the bank account (or one with payments enabled) the
	// money went to; empty takes the configured default
	// (XERO_PAYMENT_ACCOUNT_CODE) before the operation is recorded.
	AccountCode string
}

// ReversalParams reverse (delete) a payment. The logical reversal is the
// payment.
type ReversalParams struct {
	PaymentID string // the provider's payment id
	InvoiceID string // the invoice it paid, whose state changes
}

// CreditNoteParams credit part or all of an invoice with a sales credit note
// for the invoice's contact. The logical credit note is (InvoiceID, Reason,
// Amount), amounts compared by value.
type CreditNoteParams struct {
	InvoiceID string  // the provider's invoice id
	Account   Account // the invoice's account
	ContactID string  // the provider's contact of the invoice
	Reason    string  // the credit note's line and reference
	Amount    decimal.Decimal
	Date      Date
	// AccountCode is the revenue account of the credit note's line; empty
	// takes the invoice default (XERO_ACCOUNT_CODE).
	AccountCode string
	// Allocate asks for the credit to be allocated to the invoice, Refund
	// for it to be paid back to the member; the service records each as
	// an operation of its own once the credit note exists.
	Allocate bool
	Refund   bool
}

// AllocationParams allocate a credit note to an invoice. The logical
// allocation is (CreditNoteID, InvoiceID).
type AllocationParams struct {
	CreditNoteID string
	InvoiceID    string
	Amount       decimal.Decimal
	Date         Date
}

// RefundParams pay a credit note back to the member (a payment against the
// credit note). The logical refund is (CreditNoteID, Reference).
type RefundParams struct {
	CreditNoteID string
	Amount       decimal.Decimal
	Date         Date
	Reference    string
	AccountCode  string // as PaymentParams.AccountCode
}

// VoidParams void an invoice. The logical void is the invoice.
type VoidParams struct {
	InvoiceID string
	// ReversePayments asks for the invoice's payments to be reversed first
	// (each its own operation); without it an invoice with payments is
	// refused.
	ReversePayments bool
}

// NewMoneyOp validates p and returns the operation recorded at at under the
// idempotency key, with its Kind and Fingerprint. The error wraps
// ErrInvalidPayment.
func NewMoneyOp(key string, p MoneyParams, at time.Time) (MoneyOp, error) {
	if key == "" {
		return MoneyOp{}, fmt.Errorf("%w: an idempotency key is required", ErrInvalidPayment)
	}
	if err := p.Validate(); err != nil {
		return MoneyOp{}, err
	}
	kind, _ := p.Kind() // Validate checked it
	return MoneyOp{Key: key, Kind: kind, Fingerprint: p.Fingerprint(), Params: p, CreatedAt: at}, nil
}

// Kind returns the kind of the one operation p holds; an error unless
// exactly one field is set.
func (p MoneyParams) Kind() (MoneyKind, error) {
	var kinds []MoneyKind
	if p.Payment != nil {
		kinds = append(kinds, KindPayment)
	}
	if p.Reversal != nil {
		kinds = append(kinds, KindPaymentReversal)
	}
	if p.CreditNote != nil {
		kinds = append(kinds, KindCreditNote)
	}
	if p.Allocation != nil {
		kinds = append(kinds, KindAllocation)
	}
	if p.Refund != nil {
		kinds = append(kinds, KindRefund)
	}
	if p.Void != nil {
		kinds = append(kinds, KindVoid)
	}
	if len(kinds) != 1 {
		return "", fmt.Errorf("%w: the parameters hold %d operations, not one", ErrInvalidPayment, len(kinds))
	}
	return kinds[0], nil
}

// Fingerprint identifies the logical operation p describes, by kind:
// payment (invoice, reference); reversal (payment); credit note (invoice,
// reason, amount); allocation (credit note, invoice); refund (credit note,
// reference); void (invoice). Amounts compare by value (1.0 and 1.00
// agree). Parameters holding no single operation have no fingerprint ("").
func (p MoneyParams) Fingerprint() string {
	kind, err := p.Kind()
	if err != nil {
		return ""
	}
	var parts []string
	switch kind {
	case KindPayment:
		parts = []string{p.Payment.InvoiceID, p.Payment.Reference}
	case KindPaymentReversal:
		parts = []string{p.Reversal.PaymentID}
	case KindCreditNote:
		parts = []string{p.CreditNote.InvoiceID, p.CreditNote.Reason, p.CreditNote.Amount.String()}
	case KindAllocation:
		parts = []string{p.Allocation.CreditNoteID, p.Allocation.InvoiceID}
	case KindRefund:
		parts = []string{p.Refund.CreditNoteID, p.Refund.Reference}
	case KindVoid:
		parts = []string{p.Void.InvoiceID}
	}
	b, _ := json.Marshal(struct {
		K MoneyKind
		P []string
	}{kind, parts}) // strings only: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Xero's limits on what a money operation sends: money has two decimals
// (the currency's precision), a reference 255 characters.
const (
	moneyDecimals   = 2
	maxPaymentRef   = 255
	maxCreditReason = 4000
)

// Validate checks the parameters before anything is recorded or sent:
// exactly one operation; the ids it names; amounts positive with at most
// two decimals; dates set and within the years 1900-9999; references and
// reasons present, valid text and within Xero's lengths. The error wraps
// ErrInvalidPayment and names every problem.
func (p MoneyParams) Validate() error {
	kind, err := p.Kind()
	if err != nil {
		return err
	}
	var errs []error
	need := func(v, name string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	switch kind {
	case KindPayment:
		need(p.Payment.InvoiceID, "invoice")
		errs = append(errs, checkAmount(p.Payment.Amount), checkMoneyDate(p.Payment.Date))
		errs = append(errs, checkReference(p.Payment.Reference))
	case KindPaymentReversal:
		need(p.Reversal.PaymentID, "payment")
	case KindCreditNote:
		c := p.CreditNote
		need(c.InvoiceID, "invoice")
		need(c.ContactID, "contact")
		if err := c.Account.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.Reason == "" {
			errs = append(errs, errors.New("reason is required"))
		} else if err := checkText(c.Reason, maxCreditReason, "\n\r\t"); err != nil {
			errs = append(errs, fmt.Errorf("reason %w", err))
		}
		errs = append(errs, checkAmount(c.Amount), checkMoneyDate(c.Date))
	case KindAllocation:
		need(p.Allocation.CreditNoteID, "credit note")
		need(p.Allocation.InvoiceID, "invoice")
		errs = append(errs, checkAmount(p.Allocation.Amount), checkMoneyDate(p.Allocation.Date))
	case KindRefund:
		need(p.Refund.CreditNoteID, "credit note")
		errs = append(errs, checkAmount(p.Refund.Amount), checkMoneyDate(p.Refund.Date))
		errs = append(errs, checkReference(p.Refund.Reference))
	case KindVoid:
		need(p.Void.InvoiceID, "invoice")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidPayment, kind, err)
	}
	return nil
}

func checkAmount(d decimal.Decimal) error {
	switch {
	case !d.IsPositive():
		return fmt.Errorf("amount %s must be positive", d)
	case !d.Equal(d.Round(moneyDecimals)):
		return fmt.Errorf("amount %s has more than %d decimals", d, moneyDecimals)
	}
	return nil
}

func checkReference(ref string) error {
	if ref == "" {
		return errors.New("reference is required")
	}
	if err := checkText(ref, maxPaymentRef, ""); err != nil {
		return fmt.Errorf("reference %w", err)
	}
	return nil
}

func checkMoneyDate(d Date) error {
	if d.IsZero() {
		return errors.New("date is required")
	}
	if err := d.Check(); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	return nil
}

// Payment is the app's copy of a payment held at the provider: a payment
// against an invoice, or (CreditNoteID set) a refund of a credit note.
// Every field is the provider's.
type Payment struct {
	ProviderID   string // Xero's PaymentID; unique
	InvoiceID    string // the provider's invoice id; empty for a refund
	CreditNoteID string // the provider's credit note id, for a refund
	Amount       decimal.Decimal
	Date         Date
	Reference    string
	AccountCode  string
	Status       string // PaymentAuthorised or PaymentDeleted
}

// Same reports whether p and o agree on every field; money is compared by
// value.
func (p Payment) Same(o Payment) bool {
	return p.ProviderID == o.ProviderID && p.InvoiceID == o.InvoiceID && p.CreditNoteID == o.CreditNoteID &&
		p.Amount.Equal(o.Amount) && p.Date == o.Date && p.Reference == o.Reference &&
		p.AccountCode == o.AccountCode && p.Status == o.Status
}

// CreditNote is the app's copy of a sales credit note held at the provider.
type CreditNote struct {
	ProviderID string // Xero's CreditNoteID; unique
	Number     string
	// Account is the app's account the credit note is for; a save with
	// the zero Account keeps the one stored.
	Account   Account
	ContactID string
	// InvoiceID is the invoice the credit note was raised for, when the
	// app raised it; allocations say where the credit went. A save with an
	// empty InvoiceID keeps the one stored (the provider does not say it).
	InvoiceID string
	Reference string
	Status    string
	Currency  string
	Date      Date
	Total     decimal.Decimal
	// Remaining is the credit not yet allocated or refunded.
	Remaining   decimal.Decimal
	Allocations []Allocation
}

// Allocation is part of a credit note applied to an invoice.
type Allocation struct {
	InvoiceID string // the provider's invoice id
	Amount    decimal.Decimal
	Date      Date
}

// Same reports whether c and o agree on every field, allocations in order;
// money is compared by value. A zero Account on either side matches any.
func (c CreditNote) Same(o CreditNote) bool {
	if c.ProviderID != o.ProviderID || c.Number != o.Number || c.ContactID != o.ContactID ||
		c.InvoiceID != o.InvoiceID || c.Reference != o.Reference || c.Status != o.Status ||
		c.Currency != o.Currency || c.Date != o.Date || !c.Total.Equal(o.Total) ||
		!c.Remaining.Equal(o.Remaining) || len(c.Allocations) != len(o.Allocations) {
		return false
	}
	if c.Account != (Account{}) && o.Account != (Account{}) && c.Account != o.Account {
		return false
	}
	for i, a := range c.Allocations {
		b := o.Allocations[i]
		if a.InvoiceID != b.InvoiceID || !a.Amount.Equal(b.Amount) || a.Date != b.Date {
			return false
		}
	}
	return true
}

// Touches reports whether the credit note concerns the invoice: raised for
// it, or allocated to it.
func (c CreditNote) Touches(invoiceID string) bool {
	if invoiceID == "" {
		return false
	}
	if c.InvoiceID == invoiceID {
		return true
	}
	for _, a := range c.Allocations {
		if a.InvoiceID == invoiceID {
			return true
		}
	}
	return false
}

// IsPartlyPaid reports whether the provider says part of the invoice is
// paid and part still due.
func (inv Invoice) IsPartlyPaid() bool {
	return inv.Status == StatusAuthorised && inv.Paid.IsPositive() && inv.Due.IsPositive()
}

// ErrHasPayments: an invoice cannot be voided while it has payments; they
// must be reversed first (VoidParams.ReversePayments asks for it).
var ErrHasPayments = errors.New("billing: the invoice has payments")

// PaymentResult is what a bulk payment run did with one payment.
type PaymentResult struct {
	Payment Payment // as stored; zero unless Created or Existing
	// Outcome is Created (recorded now), Existing (the same logical
	// payment was recorded before, or found at the provider after a lost
	// answer), Failed (refused: see Err; nothing was recorded), Pending
	// (the outcome is unknown; a rerun resolves it) or NotAttempted.
	Outcome Outcome
	Err     error
}

// CreditResult is what crediting an invoice did.
type CreditResult struct {
	CreditNote CreditNote // as stored after the allocation or refund
	// Refund is the payment back to the member, when one was asked for.
	Refund *Payment
	// Invoice is the invoice credited, as the provider now computes it.
	Invoice Invoice
}

// MoneyResolveResult is what resolving pending money operations did.
type MoneyResolveResult struct {
	// Resolved are the operations now done, as stored.
	Resolved []MoneyOp
	// Pending holds, by key, why an operation is still pending.
	Pending map[string]error
}

// MoneyService moves money at the provider, each operation exactly once
// across crashes, lost answers and reruns (see MoneyOp); xero.Service
// implements it. Ids are the provider's.
type MoneyService interface {
	// RecordPayment records a payment the app took against an invoice;
	// the logical payment is (invoice, reference).
	RecordPayment(ctx context.Context, p PaymentParams) (Payment, error)
	// RecordPayments records many, a result per payment in order.
	RecordPayments(ctx context.Context, ps []PaymentParams, opts BulkOptions) ([]PaymentResult, error)
	// ReversePayment deletes a payment: the invoice is owed again.
	ReversePayment(ctx context.Context, paymentID string) (Payment, error)
	// CreditInvoice raises a credit note for an invoice and allocates or
	// refunds it; the logical credit note is (invoice, reason, amount).
	CreditInvoice(ctx context.Context, p CreditNoteParams) (CreditResult, error)
	// VoidInvoice voids an invoice; one with payments is refused with
	// ErrHasPayments unless reversePayments asks for them to be reversed.
	VoidInvoice(ctx context.Context, invoiceID string, reversePayments bool) (Invoice, error)
	// ResolveMoneyOps resolves every pending operation.
	ResolveMoneyOps(ctx context.Context) (MoneyResolveResult, error)
}
