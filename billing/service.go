package billing

import "context"

// Service is what an app calls to bill its users and organisations. Each
// provider (Xero, the mocks) implements it. Implementations are safe for
// concurrent use.
type Service interface {
	InvoiceUpdater
	InvoiceLinker

	// UpdateUserBillingDetails creates or updates the user's contact at the
	// provider and links it to the user's account.
	UpdateUserBillingDetails(ctx context.Context, u User) error
	// UpdateOrganisationBillingDetails does the same for an organisation.
	UpdateOrganisationBillingDetails(ctx context.Context, o Organisation) error
	// CreateInvoice creates an approved invoice at the provider and saves the
	// local copy. An account with no contact link fails with ErrNoContact
	// before any call is made.
	CreateInvoice(ctx context.Context, p CreateInvoiceParams) (Invoice, error)
	// EmailInvoice asks the provider to email the invoice to its contact. It
	// does nothing when emailing is switched off or the address is not
	// allowed by the configured whitelist.
	EmailInvoice(ctx context.Context, inv Invoice) error
}

// InvoiceUpdater refreshes invoices from the provider: what the fetch job
// needs of a service.
type InvoiceUpdater interface {
	// UpdateInvoices fetches the current state of the invoices with these
	// provider ids, saves what changed and calls the app's InvoiceHook for
	// each change. An error means the call as a whole failed; per-invoice
	// outcomes are in the result.
	UpdateInvoices(ctx context.Context, providerIDs []string) (UpdateResult, error)
}

// InvoiceLinker finds the customer-facing page of an invoice: what the
// invoice redirect needs of a service.
type InvoiceLinker interface {
	// GetInvoiceURL returns the customer-facing online invoice URL, or ""
	// when the invoice has no provider id.
	GetInvoiceURL(ctx context.Context, inv Invoice) (string, error)
}

// UpdateResult is what UpdateInvoices did, invoice by invoice.
type UpdateResult struct {
	// Updated holds the invoices as saved after the refresh, changed or not.
	Updated []Invoice
	// Changed lists the numbers of the invoices whose state changed (each
	// with its InvoiceEvent).
	Changed []string
	// Missing holds requested ids the provider did not return.
	Missing []string
	// Failed holds ids the provider returned that could not be saved
	// locally, with the reason (for example an invoice unknown to the store).
	Failed map[string]error
}

// Simulated is implemented by services that talk to no billing provider at
// all (mock.BillingService). FetchInvoiceUpdates skips them, as AMS's
// fetch_invoice_updates skips mock services.
type Simulated interface {
	Simulated() bool
}
