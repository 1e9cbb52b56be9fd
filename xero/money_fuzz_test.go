package xero

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The money list reads take records one by one too: a random payment or
// credit note beside a good one never fails the read, the good one is
// always taken, and nothing panics.

const fuzzPayment = `{"PaymentID":"` + fuzzGoodID + `","Date":"/Date(1769817600000+0000)/","Amount":10.00,"Reference":"card 1","Status":"AUTHORISED",` +
	`"PaymentType":"ACCRECPAYMENT","UpdatedDateUTC":"/Date(1769850000000+0000)/","Account":{"AccountID":"5690f1e8-1d02-4893-90c2-ee1a69eff942","Code":"090"},` +
	`"Invoice":{"InvoiceID":"0e4b2a4e-7d5b-4d8e-8a55-2c5d8f1b9f01","InvoiceNumber":"INV-1","Status":"PAID","AmountDue":0.00,"AmountPaid":10.00,"Total":10.00}}`

const fuzzCreditNote = `{"CreditNoteID":"` + fuzzGoodID + `","CreditNoteNumber":"CN-1","Type":"ACCRECCREDIT","Reference":"Refund","Contact":{"ContactID":"` + fuzzContact + `"},` +
	`"DateString":"2026-01-31T00:00:00","Date":"/Date(1769817600000+0000)/","Status":"AUTHORISED","Total":10.00,"RemainingCredit":10.00,"CurrencyCode":"NZD",` +
	`"UpdatedDateUTC":"/Date(1769850000000+0000)/","Allocations":[]}`

var fuzzMoneySeeds = []string{
	strings.Replace(fuzzPayment, `"AmountDue":0.00`, `"AmountDue":"x"`, 1),
	strings.Replace(fuzzPayment, `"Invoice":{`, `"Invoice":7,"I":{`, 1),
	strings.Replace(fuzzPayment, "/Date(1769817600000+0000)/", "/Date(-99999999999999999)/", 1),
	strings.Replace(fuzzPayment, fuzzGoodID, "0f0f0f0f-1111-4222-8333-555555555555", 1),
	strings.Replace(fuzzCreditNote, `"Allocations":[]`, `"Allocations":[{"Amount":"1e99999","Date":"x"}]`, 1),
	strings.Replace(fuzzCreditNote, fuzzGoodID, "0f0f0f0f-1111-4222-8333-555555555555", 1),
	`{"PaymentID":"x","Invoice":{"FullyPaidOnDate":"/Date(1)/"}}`,
	`{"StatusAttributeString":"ERROR","ValidationErrors":[{"Message":"Payment amount exceeds the amount outstanding on this document"}]}`,
	`42`, `null`, `[]`, `{}`, `"text"`,
}

func addMoneySeeds(f *testing.F) {
	for _, s := range fuzzMoneySeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
}

// claimsMoney reports whether rec carries the good record's id, so it may
// come first and be taken for it.
func claimsMoney(rec string) bool { return strings.Contains(strings.ToLower(rec), fuzzGoodID) }

func FuzzPaymentsModifiedSince(f *testing.F) {
	addMoneySeeds(f)
	c, tr := fuzzClient(f)
	f.Fuzz(func(t *testing.T, rec string, first bool) {
		rec = tr.answer("Payments", fuzzPayment, rec, first)
		got, _, _, err := c.PaymentsModifiedSince(context.Background(), time.Unix(0, 0), 1)
		if err != nil {
			t.Fatalf("a record failed its neighbours: %v", err)
		}
		for _, p := range got {
			if p.PaymentID == fuzzGoodID && p.Reference == "card 1" && p.Invoice != nil && p.Invoice.Status == "PAID" &&
				p.Invoice.AmountDue != nil && p.Invoice.AmountDue.IsZero() {
				return
			}
		}
		if !claimsMoney(rec) {
			t.Fatalf("the good payment is missing: got %d", len(got))
		}
	})
}

func FuzzCreditNotesModifiedSince(f *testing.F) {
	addMoneySeeds(f)
	c, tr := fuzzClient(f)
	f.Fuzz(func(t *testing.T, rec string, first bool) {
		rec = tr.answer("CreditNotes", fuzzCreditNote, rec, first)
		got, _, _, err := c.CreditNotesModifiedSince(context.Background(), time.Unix(0, 0), 1)
		if err != nil {
			t.Fatalf("a record failed its neighbours: %v", err)
		}
		for _, cn := range got {
			if cn.CreditNoteID == fuzzGoodID && cn.CreditNoteNumber == "CN-1" {
				return
			}
		}
		if !claimsMoney(rec) {
			t.Fatalf("the good credit note is missing: got %d", len(got))
		}
	})
}
