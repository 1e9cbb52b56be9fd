package xero

import (
	"github.com/amsbilling/sdk/billing"
)

// localPayment is Xero's payment as the app's copy.
func localPayment(x Payment) billing.Payment {
	return billing.Payment{
		ProviderID:   x.PaymentID,
		InvoiceID:    x.InvoiceID,
		CreditNoteID: x.CreditNoteID,
		Amount:       x.Amount,
		Date:         x.Date,
		Reference:    x.Reference,
		AccountCode:  x.AccountCode,
		Status:       x.Status,
	}
}

// localCreditNote is Xero's credit note as the app's copy. The invoice it
// was raised for is not Xero's to say: invoiceID is the app's (empty for a
// credit note made in Xero, and for a save that keeps the stored one).
func localCreditNote(x CreditNote, account billing.Account, invoiceID string) billing.CreditNote {
	cn := billing.CreditNote{
		ProviderID: x.CreditNoteID,
		Number:     x.CreditNoteNumber,
		Account:    account,
		ContactID:  x.Contact.ContactID,
		InvoiceID:  invoiceID,
		Reference:  x.Reference,
		Status:     x.Status,
		Currency:   x.CurrencyCode,
		Date:       x.Date,
		Total:      x.Total,
		Remaining:  x.RemainingCredit,
	}
	for _, a := range x.Allocations {
		cn.Allocations = append(cn.Allocations, billing.Allocation{
			InvoiceID: a.InvoiceID, Amount: a.Amount, Date: a.Date,
		})
	}
	return cn
}
