package emulator

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/amsbilling/sdk/billing"
)

// ManualCreditNote is a sales credit note made in Xero by hand
// (CreateCreditNote): one line of Amount, no tax.
type ManualCreditNote struct {
	// InvoiceID names an invoice (its id or number) whose contact and
	// currency the credit note takes; ContactID names the contact instead.
	InvoiceID string
	ContactID string
	Amount    decimal.Decimal
	// Description is the line's text; default "Credit".
	Description string
	Reference   string
	// AccountCode is the line's account; default DefaultAccountCode.
	AccountCode string
	// Date is the credit note's date; zero means today.
	Date billing.Date
}

// CreateCreditNote makes an AUTHORISED sales credit note (ACCRECCREDIT) as
// someone working in Xero would, by the rules of PUT /CreditNotes, and
// returns it; it is not allocated (see AllocateCreditNote). It queues a
// CREDITNOTE CREATE webhook. It fails with ErrNotFound for an unknown
// invoice and ErrInvalid, saying why, for a credit note Xero would refuse.
func (e *Emulator) CreateCreditNote(ctx context.Context, mc ManualCreditNote) (CreditNote, error) {
	if err := ctx.Err(); err != nil {
		return CreditNote{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	contactID, currency := strings.TrimSpace(mc.ContactID), ""
	if id := strings.TrimSpace(mc.InvoiceID); id != "" {
		inv := e.findInvoice(id)
		if inv == nil {
			return CreditNote{}, fmt.Errorf("%w: invoice %q", ErrNotFound, mc.InvoiceID)
		}
		contactID, currency = inv.ContactID, inv.CurrencyCode
	}
	typ, status, amounts := creditNoteSales, billing.StatusAuthorised, amountsNoTax
	desc := cmp.Or(strings.TrimSpace(mc.Description), "Credit")
	code := cmp.Or(strings.TrimSpace(mc.AccountCode), DefaultAccountCode)
	one := decimal.NewFromInt(1)
	in := creditNoteIn{
		Type: &typ, Status: &status, LineAmountTypes: &amounts,
		Contact:   &contactIn{ContactID: &contactID},
		Reference: &mc.Reference,
		LineItems: []lineItemIn{{Description: &desc, Quantity: &one, UnitAmount: &mc.Amount, AccountCode: &code}},
	}
	if currency != "" {
		in.CurrencyCode = &currency
	}
	if !mc.Date.IsZero() {
		d := mc.Date.String()
		in.Date = &d
	}
	cw, bad := e.buildCreditNote(in, 2, nil, nil)
	if bad != nil {
		return CreditNote{}, fmt.Errorf("%w: %s", ErrInvalid, bad.body)
	}
	if len(cw.w.problems) > 0 {
		return CreditNote{}, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(cw.w.problems, "; "))
	}
	return e.saveCreditNote(cw).clone(), nil
}
