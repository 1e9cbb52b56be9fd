package emulator

import (
	"strings"

	"github.com/google/uuid"
)

// apiSegments splits an Accounting API path into its segments after
// APIPath, as sent.
func apiSegments(path string) []string {
	rest := strings.Trim(path[min(len(APIPath), len(path)):], "/")
	if rest == "" {
		return nil
	}
	return strings.Split(rest, "/")
}

// apiTemplate is the path template, relative to APIPath and spelt as in
// Xero's OpenAPI description, of an Accounting API path the emulator
// serves; "" for the others. Literal segments match without regard to case,
// as Xero's do.
func apiTemplate(segs []string) string {
	is := func(i int, name string) bool { return strings.EqualFold(segs[i], name) }
	isGUID := func(s string) bool { _, err := uuid.Parse(s); return err == nil }
	switch {
	case len(segs) == 1 && is(0, "Contacts"):
		return "/Contacts"
	case len(segs) == 2 && is(0, "Contacts") && isGUID(segs[1]):
		return "/Contacts/{ContactID}"
	case len(segs) == 2 && is(0, "Contacts"):
		return "/Contacts/{ContactNumber}"
	case len(segs) == 1 && is(0, "Invoices"):
		return "/Invoices"
	case len(segs) == 2 && is(0, "Invoices"):
		return "/Invoices/{InvoiceID}"
	case len(segs) == 3 && is(0, "Invoices") && is(2, "Email"):
		return "/Invoices/{InvoiceID}/Email"
	case len(segs) == 3 && is(0, "Invoices") && is(2, "OnlineInvoice"):
		return "/Invoices/{InvoiceID}/OnlineInvoice"
	case len(segs) == 1 && is(0, "Payments"):
		return "/Payments"
	case len(segs) == 2 && is(0, "Payments"):
		return "/Payments/{PaymentID}"
	case len(segs) == 1 && is(0, "CreditNotes"):
		return "/CreditNotes"
	case len(segs) == 2 && is(0, "CreditNotes"):
		return "/CreditNotes/{CreditNoteID}"
	case len(segs) == 3 && is(0, "CreditNotes") && is(2, "Allocations"):
		return "/CreditNotes/{CreditNoteID}/Allocations"
	case len(segs) == 1 && is(0, "Accounts"):
		return "/Accounts"
	case len(segs) == 2 && is(0, "Accounts"):
		return "/Accounts/{AccountID}"
	case len(segs) == 1 && is(0, "Currencies"):
		return "/Currencies"
	case len(segs) == 1 && is(0, "Organisation"):
		return "/Organisation"
	}
	return ""
}

// operationOf names a request's operation (see Request.Operation) and
// reports whether it is an Accounting API call.
func operationOf(method, path string) (string, bool) {
	method = strings.ToUpper(method)
	switch {
	case isPath(path, TokenPath):
		return method + " " + TokenPath, false
	case isPath(path, ConnectionsPath):
		return method + " " + ConnectionsPath, false
	case hasPrefixFold(path, APIPath+"/") || isPath(path, APIPath):
		if t := apiTemplate(apiSegments(path)); t != "" {
			return method + " " + t, true
		}
		return "", true
	case hasPrefixFold(path, OnlineInvoicePath):
		_, action, _ := strings.Cut(strings.Trim(path[len(OnlineInvoicePath):], "/"), "/")
		switch {
		case action == "":
			return method + " " + OnlineInvoicePath + "{token}", false
		case action == "pay":
			return method + " " + OnlineInvoicePath + "{token}/pay", false
		}
	case path == "/" || path == "":
		return method + " /", false
	}
	return "", false
}
