package xero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/ratelimit"
)

// Xero's limits on a contact's fields, in UTF-16 code units as Xero
// counts them.
const (
	maxContactName   = 255
	maxEmailAddress  = 255
	maxAccountNumber = 50
)

// Service is the Xero billing.Service. It is safe for concurrent use.
type Service struct {
	client *Client
	store  billing.Store
	cfg    Config
	hook   billing.InvoiceHook
	log    *slog.Logger
	// delivery tunes how events reach the hook.
	delivery billing.DeliverOptions
	// keyWindow is how long after a creation its idempotency key is
	// trusted to protect a resend; resolveLease keeps two resolvers of an
	// older creation apart; now is the clock of both.
	keyWindow    time.Duration
	resolveLease time.Duration
	now          func() time.Time
	// syncs serialises contact syncs of one account in this process;
	// across processes the duplicate-contact recovery does the same job.
	syncs keyedLock[billing.Account]
}

var _ billing.Service = (*Service)(nil)

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// WithInvoiceHook sets the hook that hears each change to an invoice. Every
// change is saved with an event in the same transaction and delivered at
// least once, in order per invoice: right after the refresh that saved it,
// and again on later refreshes, fetch runs and sweeps while the hook
// returns an error (see billing.DeliverEvents).
func WithInvoiceHook(h billing.InvoiceHook) ServiceOption { return func(s *Service) { s.hook = h } }

// WithDelivery tunes event delivery (batch size, backoff, clock); the zero
// value takes billing.DeliverOptions' defaults.
func WithDelivery(o billing.DeliverOptions) ServiceOption {
	return func(s *Service) { s.delivery = o }
}

// DefaultKeyWindow is how long the service trusts Xero to remember an
// Idempotency-Key. Xero keeps keys for minutes only (about 6 by reports;
// the window is undocumented), so the SDK assumes less.
const DefaultKeyWindow = 5 * time.Minute

// WithCreationTiming sets the clock used for creations, the key window
// (default DefaultKeyWindow), and the lease that keeps two resolvers of a
// creation older than the window apart (default 2m). Tests shorten them.
func WithCreationTiming(now func() time.Time, keyWindow, resolveLease time.Duration) ServiceOption {
	return func(s *Service) { s.now, s.keyWindow, s.resolveLease = now, keyWindow, resolveLease }
}

// WithServiceLogger sets the service's logger; the default is the client's.
func WithServiceLogger(l *slog.Logger) ServiceOption { return func(s *Service) { s.log = l } }

// NewService returns the Xero billing.Service using client for Xero and
// store for contact links and invoices. cfg supplies the invoice defaults
// (XERO_ACCOUNT_CODE, XERO_AMOUNT_TYPE, XERO_CURRENCY_CODE; empty amount type
// and currency leave Xero's defaults) and the email settings.
func NewService(client *Client, store billing.Store, cfg Config, opts ...ServiceOption) *Service {
	// The service needs no credential (the Client holds its own): keep no
	// copy of them.
	cfg.ClientSecret, cfg.WebhookKeys = billing.Secret{}, nil
	s := &Service{client: client, store: store, cfg: cfg}
	for _, opt := range opts {
		opt(s)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.keyWindow <= 0 {
		s.keyWindow = DefaultKeyWindow
	}
	if s.resolveLease <= 0 {
		s.resolveLease = 2 * time.Minute
	}
	if s.log == nil {
		if client != nil {
			s.log = client.log
		} else {
			s.log = slog.New(slog.DiscardHandler)
		}
	}
	return s
}

// New validates cfg, builds a Client from cfg.Xero with opts, and returns
// the Service on store. Use NewClient and NewService to set service options
// such as an invoice hook.
func New(cfg Config, store billing.Store, opts ...Option) (*Service, error) {
	if store == nil {
		return nil, errors.New("xero: New: a billing.Store is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := NewClient(cfg, opts...)
	if err != nil {
		return nil, err
	}
	return NewService(client, store, cfg), nil
}

// Client returns the service's Xero client, for calls such as
// CheckConnection.
func (s *Service) Client() *Client { return s.client }

func (s *Service) ready() error {
	if s == nil || s.client == nil || s.store == nil {
		return errors.New("xero: Service needs a Client and a Store; build it with NewService or New")
	}
	return nil
}

// UpdateUserBillingDetails implements billing.Service.
func (s *Service) UpdateUserBillingDetails(ctx context.Context, u billing.User) error {
	return s.syncContact(ctx, billing.UserAccount(u.ID), u.Name, u.Email)
}

// UpdateOrganisationBillingDetails implements billing.Service.
func (s *Service) UpdateOrganisationBillingDetails(ctx context.Context, o billing.Organisation) error {
	return s.syncContact(ctx, billing.OrganisationAccount(o.ID), o.Name, o.Email)
}

// syncContact makes the account's Xero contact carry name, id and email:
// it updates the linked contact, or creates one and links it. When Xero says
// the name or account number is taken (another process created it, or a
// run stopped before linking), it finds the contact by account number,
// links it and updates it.
func (s *Service) syncContact(ctx context.Context, account billing.Account, name, email string) error {
	if err := s.ready(); err != nil {
		return err
	}
	if err := account.Validate(); err != nil {
		return err
	}
	unlock, err := s.syncs.lock(ctx, account)
	if err != nil {
		return fmt.Errorf("xero: sync contact of %s: %w", account, err)
	}
	defer unlock()

	want, err := contactFor(billing.BillingDetails{Account: account, Name: name, Email: email})
	if err != nil {
		return err
	}
	fp := contactFingerprint(want)
	record := func() error {
		if err := s.store.RecordContactSync(ctx, account, fp, want.EmailAddress); err != nil {
			return fmt.Errorf("xero: recording the sync of %s: %w", account, err)
		}
		return nil
	}
	link, err := s.store.ContactLink(ctx, account)
	if err == nil {
		if link.Fingerprint == fp {
			return nil // Xero holds exactly this already: nothing to send
		}
		want.ContactID = link.ContactID
		if _, err = s.client.UpdateContact(ctx, want); err != nil {
			return err
		}
		return record()
	}
	if !errors.Is(err, billing.ErrNotFound) {
		return fmt.Errorf("xero: contact link of %s: %w", account, err)
	}

	contact, createErr := s.client.CreateContact(ctx, want)
	update := false
	if createErr != nil {
		if !isDuplicateContact(createErr) {
			return createErr
		}
		// Any failure here (rate limit, 5xx) is passed up as is: it must
		// not pass for "no such contact". Xero's refusal is kept beside it,
		// after it, so errors.As and billing.IsTemporary see the lookup's
		// failure first.
		contact, err = s.client.FindContactByAccountNumber(ctx, want.AccountNumber)
		if err != nil {
			var rl *ratelimit.RateLimitError
			if errors.As(err, &rl) {
				return err // its "try again in 30s" reaches the person unchanged
			}
			return fmt.Errorf("xero: %s: Xero says its contact exists, but looking it up by account number failed: %w (Xero's answer to the create: %w)", account, err, createErr)
		}
		s.log.InfoContext(ctx, "xero: found the existing contact of an account",
			slog.String("account", account.String()), slog.String("contact_id", contact.ContactID))
		update = true
		if strings.EqualFold(contact.ContactStatus, ContactStatusArchived) {
			// An archived contact cannot be invoiced; the app is billing
			// this account again, so restore it.
			s.log.WarnContext(ctx, "xero: restoring the archived contact of an account",
				slog.String("account", account.String()), slog.String("contact_id", contact.ContactID))
			want.ContactStatus = ContactStatusActive
		}
	}
	link, err = s.store.LinkContact(ctx, account, contact.ContactID)
	if err != nil {
		return fmt.Errorf("xero: linking %s to contact %s: %w", account, contact.ContactID, err)
	}
	if link.ContactID != contact.ContactID {
		// Someone linked another contact first; theirs is in force.
		update = true
	}
	if update {
		want.ContactID = link.ContactID
		if _, err = s.client.UpdateContact(ctx, want); err != nil {
			return err
		}
	}
	return record()
}

// ContactName is the Xero contact name of an account: "<name> (<id>)". The
// id keeps names unique, as Xero requires; a long name is cut so the whole
// fits Xero's 255 characters as Xero counts them, in UTF-16 code units (an
// emoji is two), never through the middle of a character.
func ContactName(name, id string) string {
	name = strings.TrimSpace(name)
	suffix := "(" + id + ")"
	if name == "" {
		return suffix
	}
	room := maxContactName - utf16Len(suffix) - 1
	if utf16Len(name) > room {
		name = strings.TrimSpace(cutUTF16(name, max(room, 0)))
	}
	return name + " " + suffix
}

// checkContact reports what Xero would refuse in a contact built from the
// app's name: control characters or invalid UTF-8 anywhere, an email or
// account number over Xero's limits. (ContactName fits the name itself.)
func checkContact(name string, c Contact) error {
	var errs []error
	for _, f := range []struct {
		field, value string
		limit        int
	}{
		{"name", strings.TrimSpace(name), 0},
		{"email", c.EmailAddress, maxEmailAddress},
		{"account number", c.AccountNumber, maxAccountNumber},
	} {
		switch {
		case !utf8.ValidString(f.value):
			errs = append(errs, fmt.Errorf("%s is not valid UTF-8", f.field))
		case strings.ContainsFunc(f.value, unicode.IsControl):
			errs = append(errs, fmt.Errorf("%s contains a control character", f.field))
		case f.limit > 0 && utf16Len(f.value) > f.limit:
			errs = append(errs, fmt.Errorf("%s is %d characters; at most %d", f.field, utf16Len(f.value), f.limit))
		}
	}
	return errors.Join(errs...)
}

// utf16Len is the length of s in UTF-16 code units, the way Xero (.NET)
// counts a string's characters.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// cutUTF16 returns the longest prefix of s that is at most n UTF-16 code
// units, ending between characters (a surrogate pair is kept or dropped
// whole).
func cutUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > n {
			return s[:i]
		}
	}
	return s
}

// isDuplicateContact reports whether Xero refused a contact because its
// name or account number is already in use: a 400, or a 200 whose record
// Xero flagged (the summarizeErrors=false shape).
func isDuplicateContact(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || (ae.StatusCode != 400 && ae.StatusCode != 200) {
		return false
	}
	return ae.hasValidation(duplicateFragments...)
}

// localInvoice maps Xero's invoice onto the provider-owned fields of the
// app's copy.
func localInvoice(x Invoice) billing.Invoice {
	return billing.Invoice{
		Number:     x.InvoiceNumber,
		ProviderID: x.InvoiceID,
		Reference:  x.Reference,
		Status:     x.Status,
		Currency:   x.CurrencyCode,
		IssueDate:  x.Date,
		DueDate:    x.DueDate,
		PaidDate:   x.FullyPaidOnDate,
		Amount:     x.Total,
		Paid:       x.AmountPaid,
		Due:        x.AmountDue,
		Credited:   x.AmountCredited,
	}
}

// EmailInvoice implements billing.Service. With XERO_EMAIL_INVOICES off it
// does nothing. With a whitelist (AMS_BILLING_EMAIL_WHITELIST_REGEX) it
// does nothing unless the contact's address matches: the address recorded
// at the last contact sync, or, for a link no sync has recorded yet, the one
// Xero holds (GET /Contacts/{ContactID}). Otherwise it makes the one email
// call, as AMS does, whether or not the invoice was emailed before: when
// asked, it sends. Once Xero has accepted it (204) the email is recorded in
// the store, so EmailInvoices does not email the invoice again (skipping
// is the bulk run's choice); a failure to record it is logged, not
// returned, since the email is sent.
func (s *Service) EmailInvoice(ctx context.Context, inv billing.Invoice) error {
	if err := s.ready(); err != nil {
		return err
	}
	emailed, _, err := s.emailInvoice(ctx, inv, s.store.ContactLink)
	if err != nil || !emailed {
		return err
	}
	if _, err := s.store.RecordInvoiceEmails(context.WithoutCancel(ctx),
		[]billing.InvoiceEmail{{ProviderID: inv.ProviderID, SentAt: s.now()}}); err != nil {
		s.log.ErrorContext(ctx, "xero: invoice emailed but the email not recorded; a bulk rerun may email it again",
			slog.String("invoice_number", inv.Number), slog.String("error", err.Error()))
	}
	return nil
}

// GetInvoiceURL implements billing.Service.
func (s *Service) GetInvoiceURL(ctx context.Context, inv billing.Invoice) (string, error) {
	if err := s.ready(); err != nil {
		return "", err
	}
	if inv.ProviderID == "" {
		return "", nil
	}
	return s.client.OnlineInvoiceURL(ctx, inv.ProviderID)
}

func isGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}
