package xero

import (
	"context"
	"fmt"
	"time"

	"github.com/amsbilling/sdk/billing"
)

// CreditNotesModifiedSince implements billing.SweepSource: page (from 1)
// of the organisation's credit notes modified at or after since, the sales
// ones (ACCRECCREDIT) as the app's copies. Account and InvoiceID are left
// zero, so a save keeps what the store holds. A record that cannot be read
// is in the page's Unreadable, whatever its type, since its type may not
// be readable either.
func (s *Service) CreditNotesModifiedSince(ctx context.Context, since time.Time, page int) (billing.CreditNotePage, error) {
	if err := s.ready(); err != nil {
		return billing.CreditNotePage{}, err
	}
	cns, bad, more, err := s.client.CreditNotesModifiedSince(ctx, since, page)
	if err != nil {
		return billing.CreditNotePage{}, err
	}
	out := billing.CreditNotePage{More: more, Unreadable: unreadableRecords(bad)}
	for _, x := range cns {
		if x.UpdatedDateUTC.After(out.Latest) {
			out.Latest = x.UpdatedDateUTC
		}
		if x.Type != "" && x.Type != CreditNoteTypeSales {
			continue // a supplier's credit is not the app's
		}
		out.CreditNotes = append(out.CreditNotes, localCreditNote(x, billing.Account{}, ""))
	}
	return out, nil
}

// PaymentsModifiedSince implements billing.SweepSource: page (from 1) of
// the organisation's payments modified at or after since, those of sales
// invoices (ACCRECPAYMENT) and the refunds of sales credit notes
// (ARCREDITPAYMENT) as the app's copies. A refund has CreditNoteID only,
// though Xero names its credit note under Invoice. Unreadable records are as
// for CreditNotesModifiedSince.
func (s *Service) PaymentsModifiedSince(ctx context.Context, since time.Time, page int) (billing.PaymentPage, error) {
	if err := s.ready(); err != nil {
		return billing.PaymentPage{}, err
	}
	ps, bad, more, err := s.client.PaymentsModifiedSince(ctx, since, page)
	if err != nil {
		return billing.PaymentPage{}, err
	}
	out := billing.PaymentPage{More: more, Unreadable: unreadableRecords(bad)}
	for _, x := range ps {
		if x.UpdatedDateUTC.After(out.Latest) {
			out.Latest = x.UpdatedDateUTC
		}
		refund := x.PaymentType == PaymentTypeRefund || (x.PaymentType == "" && x.CreditNoteID != "")
		if !refund && x.PaymentType != "" && x.PaymentType != PaymentTypeReceived {
			continue // bills paid and other money out are not the app's
		}
		p := localPayment(x)
		if refund {
			// Xero names the credit note under Invoice, and may under
			// CreditNote too.
			if p.CreditNoteID == "" {
				p.CreditNoteID = p.InvoiceID
			}
			p.InvoiceID = ""
		}
		out.Payments = append(out.Payments, p)
	}
	return out, nil
}

// unreadableRecords are the records a money list could not take, as the
// sweep reports them.
func unreadableRecords(bad []*MoneyRecordError) []billing.UnreadableRecord {
	var out []billing.UnreadableRecord
	for _, e := range bad {
		out = append(out, billing.UnreadableRecord{ProviderID: e.ID, Err: fmt.Errorf("%w: %w", billing.ErrUnreadable, e)})
	}
	return out
}
