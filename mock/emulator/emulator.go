package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/amsbilling/sdk/billing"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Demo credentials and organisation used when Options leaves them empty.
// They are fixed and public: they protect nothing.
const (
	DefaultClientID     = "XEROEMULATORCLIENTID000000000000"
	DefaultClientSecret = "xero-emulator-demo-secret-not-a-real-secret"
	DefaultTenantID     = "6f9a1c2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
	DefaultTenantName   = "Emulator Demo Company (NZ)"
	DefaultCurrency     = "NZD"
	DefaultAccountCode  = "200" // the demo organisation's Sales account
)

// DefaultIdempotencyTTL is how long Xero is reported to remember an
// Idempotency-Key: minutes only, about six by several reports.
const DefaultIdempotencyTTL = 6 * time.Minute

// Paths the emulator serves, relative to its base URL. APIPath is the
// prefix of the Accounting API, as in https://api.xero.com/api.xro/2.0.
const (
	TokenPath         = "/connect/token"
	ConnectionsPath   = "/connections"
	APIPath           = "/api.xro/2.0"
	OnlineInvoicePath = "/invoice/"
)

// Limits of the emulator's memory, so a long-running emulator stays bounded.
const (
	maxRecordedRequests = 10000
	maxIdempotencyKeys  = 10000
	maxDeliveries       = 10000
	maxEmails           = 10000
	maxLiveTokens       = 10000
	maxIdempotencyKey   = 128
)

// bounds are the bounds on what the emulator keeps; New sets them from the
// constants above (tests shrink them).
type bounds struct {
	requests, idempotencyKeys, deliveries, emails, tokens int
}

var (
	// ErrNotFound: no invoice with that id.
	ErrNotFound = errors.New("emulator: not found")
	// ErrInvalid: the simulated change is not possible for the invoice in
	// its current state (wrong status, amount out of range).
	ErrInvalid = errors.New("emulator: invalid operation")
	// ErrClosed: the emulator was closed.
	ErrClosed = errors.New("emulator: closed")
	// ErrDropped is what the in-process client returns for a request a
	// Drop fault swallowed. It also matches io.ErrUnexpectedEOF.
	ErrDropped = errors.New("emulator: connection dropped by fault injection")
)

// Options configure an Emulator. The zero value is a usable emulator with
// the demo credentials, Xero's rate limits and no webhooks.
type Options struct {
	// ClientID and ClientSecret are the Custom Connection's credentials the
	// token endpoint accepts; TenantID and TenantName describe its one
	// organisation. Empty fields take the Default* constants.
	ClientID, ClientSecret, TenantID, TenantName string

	// LegacyScopes makes the token endpoint accept an explicit "scope", as
	// Custom Connections created before late April 2026 do. By default a
	// token request with a scope gets 400 {"error":"invalid_scope"}.
	LegacyScopes bool
	// TokenTTL is how long an access token lasts; default 30 minutes.
	TokenTTL time.Duration

	// IdempotencyTTL is how long the answer to a write carrying an
	// Idempotency-Key is remembered, from the first request's arrival by
	// Now; after it the same key is a new request. Default
	// DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration

	// RateLimit sets the limits, counted in fixed windows as Xero counts
	// them (see Limits); zero fields take Xero's (60 a minute, 5 at once,
	// 5,000 a day per tenant; 10,000 a minute for the app). Tests shorten
	// Window.
	RateLimit Limits
	// DisableRateLimit switches rate limiting and its headers off.
	DisableRateLimit bool

	// WebhookURL receives a signed webhook for every invoice change, the way
	// Xero delivers them; empty sends none. WebhookKey signs them; when
	// empty the emulator makes up a random key (Server.Env reports it), as
	// Xero gives every webhook subscription a key.
	WebhookURL string
	WebhookKey string
	// WebhookClient posts the deliveries; default a client with a 5s
	// timeout (Xero's).
	WebhookClient *http.Client
	// WebhookRetryDelay is the pause before a failed delivery is retried;
	// default 1s. WebhookMaxAttempts bounds the attempts; default 5.
	WebhookRetryDelay  time.Duration
	WebhookMaxAttempts int

	// BaseURL is the URL the emulator is reached at, used in online
	// invoice links and webhook resource URLs. NewServer sets it; when
	// empty, links are built from each request's Host.
	BaseURL string
	// Currency is the organisation's base currency, used when an invoice
	// names none; default NZD.
	Currency string
	// NextInvoiceNumber is the number the next invoice the emulator numbers
	// gets (Xero's invoice settings), INV-0042 for 42; default 1. Numbers
	// already in use are skipped.
	NextInvoiceNumber int
	// AccountCodes adds revenue account codes to the demo chart of
	// accounts (200 Sales, 260 Other Revenue and 270 Interest Income, which
	// invoice lines may use; 090 Business Bank Account and 610 Accounts
	// Receivable, which they may not). Added codes are taxed like 200, at
	// 15% (OUTPUT2); a code of the demo chart that is not revenue becomes
	// a revenue account.
	AccountCodes []string
	// ArchivedAccountCodes are archived in the chart of accounts (codes it
	// lacks are added as archived revenue accounts): GET /Accounts shows
	// them ARCHIVED and invoice lines cannot use them. ArchiveAccount does
	// the same while the emulator runs.
	ArchivedAccountCodes []string
	// Currencies are the organisation's currencies besides its base
	// Currency, as GET /Currencies lists them; invoices may be in any of
	// them. Codes that are not ISO 4217 are left out.
	Currencies []string
	// DemoCompany makes GET /Organisation report Xero's demo company
	// (IsDemoCompany true, Class DEMO).
	DemoCompany bool

	// MaxBatch, when positive, refuses a write of more records than this
	// (400 ValidationException), to hold a client to a batch size. Xero
	// sets no count, only the 3.5 MB body limit (a larger body gets 413),
	// and recommends batches of 50 (xerolimit.MaxWriteRecords); so by
	// default the emulator takes any number.
	MaxBatch int
	// PartialBatchOnError makes a write without summarizeErrors=false that
	// has invalid records save its valid ones anyway, while still
	// answering 400 ValidationException, as Xero has been reported to do:
	// a client must not take such a 400 to mean nothing was saved.
	PartialBatchOnError bool

	// RequestValidator, when set, sees every request before anything else
	// (r's Body holds body again). A non-nil error answers 400 and is
	// recorded in Request.ValidationError. The OpenAPI contract test uses it.
	RequestValidator func(r *http.Request, body []byte) error

	// ResponseValidator, when set, sees every answer the emulator sends
	// (not the ones a fault drops): r is the request (its body already
	// read), then the status, headers and body sent. A non-nil error
	// changes nothing in the answer; it is recorded in
	// Request.ResponseValidationError. The OpenAPI contract test uses it.
	ResponseValidator func(r *http.Request, status int, header http.Header, body []byte) error

	// PaymentAccountCodes are accounts of the chart with
	// EnablePaymentsToAccount set, so payments may be made to them besides
	// the BANK accounts (090 Business Bank Account); codes the chart lacks
	// are added as current asset accounts ("Payments 880"), like the
	// clearing account a card processor pays into. SetAccountPayable
	// changes it while the emulator runs.
	PaymentAccountCodes []string

	// SequentialIDs hands out predictable ids instead of random ones:
	// contacts 00000000-0000-4000-8000-000000000001, ...; invoices
	// 00000000-0000-4000-9000-000000000001, ...; line items, payments and
	// allocations 00000000-0000-4000-a000-000000000001, ...; credit notes
	// 00000000-0000-4000-b000-000000000001, ... (each a valid GUID).
	SequentialIDs bool

	// Now is the emulator's clock; default time.Now.
	Now func() time.Time
	// Logger gets one debug line per request; default discards. Secrets
	// are never logged.
	Logger *slog.Logger
}

// Emulator is an in-memory Xero: the identity service's token endpoint and
// connections list, and the parts of the Accounting API a billing app uses.
// It is an http.Handler; serve it with NewServer, any http.Server, or call
// it in-process through Client. It is safe for concurrent use.
type Emulator struct {
	opts    Options
	log     *slog.Logger
	created time.Time
	// accounts is the chart of accounts, ordered by code; e.mu guards it
	// (and the accounts in it). currencies are the organisation's, base
	// first.
	accounts   []*account
	currencies []string
	limiter    *limiter // nil when rate limiting is off
	webhook    *http.Client
	ownHTTP    bool // webhook is the emulator's own client: Close closes its connections
	bounds     bounds

	workerCtx    context.Context
	workerCancel context.CancelFunc
	workerWG     sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	tokens      map[string]time.Time // access token -> expiry
	tokenOrder  []string             // live tokens, oldest first
	contacts    []*Contact
	contactByID map[string]*Contact
	invoices    []*Invoice
	invoiceByID map[string]*Invoice
	onlineByTok map[string]*Invoice
	nextNumber  int
	// payments are every payment made, deleted ones too, in creation
	// order; creditNotes every credit note.
	payments       []*Payment
	paymentByID    map[string]*Payment
	creditNotes    []*CreditNote
	creditNoteByID map[string]*CreditNote
	nextCreditNote int
	idCounters     [4]int // see entityID
	emails         []Email
	idem           map[idemKey]idemEntry
	idemOrder      []idemRef // oldest first
	faults         []*Fault
	requests       []Request
	reqDropped     int            // requests dropped from the front of requests
	callCounts     map[string]int // requests by Operation, since New
	apiCalls       int            // Accounting API requests, since New

	// webhook queue
	webhooksOff   bool // SetWebhooksEnabled(false)
	pending       []queuedEvent
	eventSeq      int64
	workerRunning bool
	idleWaiters   []chan struct{}
	deliveries    []Delivery
}

type idemKey struct{ tenant, key string }

// idemEntry is the answer kept for an Idempotency-Key, and when the first
// request carrying it arrived.
type idemEntry struct {
	rp reply
	at time.Time
}

type idemRef struct {
	key idemKey
	at  time.Time
}

// New returns an Emulator with opts, defaults filled in. Call Close when
// done, to stop webhook deliveries in flight.
func New(opts Options) *Emulator {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.TenantName == "" {
		opts.TenantName = DefaultTenantName
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 30 * time.Minute
	}
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if opts.WebhookRetryDelay <= 0 {
		opts.WebhookRetryDelay = time.Second
	}
	if opts.WebhookMaxAttempts <= 0 {
		opts.WebhookMaxAttempts = 5
	}
	if opts.WebhookKey == "" {
		opts.WebhookKey = randomToken()
	}
	if opts.Currency == "" {
		opts.Currency = DefaultCurrency
	}
	opts.Currency = strings.ToUpper(opts.Currency)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")

	e := &Emulator{
		opts:           opts,
		log:            opts.Logger,
		tokens:         make(map[string]time.Time),
		contactByID:    make(map[string]*Contact),
		invoiceByID:    make(map[string]*Invoice),
		onlineByTok:    make(map[string]*Invoice),
		paymentByID:    make(map[string]*Payment),
		creditNoteByID: make(map[string]*CreditNote),
		idem:           make(map[idemKey]idemEntry),
		callCounts:     make(map[string]int),
		webhook:        opts.WebhookClient,
		bounds: bounds{
			requests:        maxRecordedRequests,
			idempotencyKeys: maxIdempotencyKeys,
			deliveries:      maxDeliveries,
			emails:          maxEmails,
			tokens:          maxLiveTokens,
		},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.created = opts.Now().UTC()
	e.nextNumber = max(opts.NextInvoiceNumber, 1) - 1
	e.accounts = buildChart(e.opts, e.created)
	e.currencies = currencies(e.opts)
	if e.webhook == nil {
		// A transport of its own, so Close can close its keep-alive
		// connections without touching anyone else's.
		tr := &http.Transport{Proxy: http.ProxyFromEnvironment}
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			tr = dt.Clone()
		}
		e.webhook = &http.Client{Timeout: 5 * time.Second, Transport: tr}
		e.ownHTTP = true
	}
	if !opts.DisableRateLimit {
		e.limiter = newLimiter(opts.RateLimit)
	}
	e.workerCtx, e.workerCancel = context.WithCancel(context.Background())
	return e
}

// Close stops webhook deliveries (queued ones are abandoned), closes the
// webhook client's idle connections (unless Options.WebhookClient was
// given) and makes FlushWebhooks fail with ErrClosed. The handler keeps
// answering requests. Close is idempotent.
func (e *Emulator) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.workerCancel()
	e.workerWG.Wait()
	if e.ownHTTP {
		e.webhook.CloseIdleConnections()
	}
	return nil
}

func (e *Emulator) now() time.Time { return e.opts.Now().UTC() }

// TenantID returns the organisation's tenant id.
func (e *Emulator) TenantID() string { return e.opts.TenantID }

// ClientID returns the client id the token endpoint accepts.
func (e *Emulator) ClientID() string { return e.opts.ClientID }

// ClientSecret returns the client secret the token endpoint accepts.
func (e *Emulator) ClientSecret() string { return e.opts.ClientSecret }

// Currency returns the organisation's base currency.
func (e *Emulator) Currency() string { return e.opts.Currency }

// Contact is the emulator's record of a Xero contact.
type Contact struct {
	ContactID      string
	ContactNumber  string
	AccountNumber  string
	ContactStatus  string // ACTIVE or ARCHIVED
	Name           string
	FirstName      string
	LastName       string
	EmailAddress   string
	IsCustomer     bool // set once a sales invoice names the contact
	UpdatedDateUTC time.Time

	addresses, phones []byte // as the client sent them, echoed back
}

// Invoice is the emulator's record of a Xero invoice.
type Invoice struct {
	InvoiceID       string
	InvoiceNumber   string
	Type            string // ACCREC
	Status          string // DRAFT, SUBMITTED, AUTHORISED, PAID, VOIDED
	Reference       string
	CurrencyCode    string
	LineAmountTypes string // Exclusive, Inclusive or NoTax
	ContactID       string
	Date            billing.Date
	DueDate         billing.Date
	FullyPaidOnDate billing.Date // zero until fully paid
	LineItems       []LineItem
	SubTotal        decimal.Decimal
	TotalTax        decimal.Decimal
	Total           decimal.Decimal
	AmountPaid      decimal.Decimal // Σ its payments not deleted
	AmountCredited  decimal.Decimal // Σ its credit note allocations
	AmountDue       decimal.Decimal // Total − AmountPaid − AmountCredited; zero once VOIDED
	// Payments are the payments applied to it and not deleted, oldest
	// first; Allocations the credit notes allocated to it.
	Payments       []Payment
	Allocations    []Allocation
	SentToContact  bool
	UpdatedDateUTC time.Time

	onlineToken string
	payments    []*Payment // every payment made to it, deleted ones too
}

// LineItem is one line of an Invoice, with its computed amounts.
type LineItem struct {
	LineItemID  string
	Description string
	Quantity    decimal.Decimal
	UnitAmount  decimal.Decimal
	ItemCode    string
	AccountCode string
	TaxType     string
	TaxAmount   decimal.Decimal
	LineAmount  decimal.Decimal
}

// Payment statuses and the types of payment the emulator makes.
const (
	PaymentAuthorised = "AUTHORISED"
	PaymentDeleted    = "DELETED"
	// PaymentTypeInvoice is a payment received against a sales invoice;
	// PaymentTypeRefund money paid back out of a sales credit note.
	PaymentTypeInvoice = "ACCRECPAYMENT"
	PaymentTypeRefund  = "ARCREDITPAYMENT"
)

// Payment is a payment applied to an Invoice (PUT /Payments, PayInvoice),
// or a refund paid out of a CreditNote (PUT /Payments naming the credit
// note).
type Payment struct {
	PaymentID    string
	PaymentType  string // PaymentTypeInvoice or PaymentTypeRefund
	Status       string // PaymentAuthorised, or PaymentDeleted once reversed
	InvoiceID    string // the invoice paid, for PaymentTypeInvoice
	CreditNoteID string // the credit note refunded, for PaymentTypeRefund
	AccountID    string
	AccountCode  string
	Date         billing.Date
	Amount       decimal.Decimal
	Reference    string
	IsReconciled bool
	// ByHand is set for a payment made "in Xero" (PayInvoice, RecordPayment)
	// rather than through the API.
	ByHand         bool
	UpdatedDateUTC time.Time
}

// Allocation is an amount of a CreditNote allocated to an Invoice.
type Allocation struct {
	AllocationID     string
	CreditNoteID     string
	CreditNoteNumber string
	InvoiceID        string
	InvoiceNumber    string
	Amount           decimal.Decimal
	Date             billing.Date
}

// CreditNote is the emulator's record of a Xero sales credit note
// (ACCRECCREDIT).
type CreditNote struct {
	CreditNoteID     string
	CreditNoteNumber string
	Type             string // ACCRECCREDIT
	Status           string // DRAFT, SUBMITTED, AUTHORISED, PAID, VOIDED, DELETED
	Reference        string
	CurrencyCode     string
	LineAmountTypes  string
	ContactID        string
	Date             billing.Date
	FullyPaidOnDate  billing.Date // zero until no credit remains
	LineItems        []LineItem
	SubTotal         decimal.Decimal
	TotalTax         decimal.Decimal
	Total            decimal.Decimal
	// RemainingCredit is Total less its allocations and refunds.
	RemainingCredit decimal.Decimal
	Allocations     []Allocation
	// Payments are its refunds not deleted, oldest first.
	Payments       []Payment
	UpdatedDateUTC time.Time

	payments []*Payment // every refund, deleted ones too
}

func (cn *CreditNote) clone() CreditNote {
	c := *cn
	c.LineItems = slices.Clone(cn.LineItems)
	c.Allocations = slices.Clone(cn.Allocations)
	c.Payments = livePayments(cn.payments)
	c.payments = slices.Clone(cn.payments)
	return c
}

// livePayments copies the payments that are not deleted.
func livePayments(ps []*Payment) []Payment {
	out := make([]Payment, 0, len(ps))
	for _, p := range ps {
		if p.Status != PaymentDeleted {
			out = append(out, *p)
		}
	}
	return out
}

// Email is an invoice the emulator was asked to email.
type Email struct {
	InvoiceID     string
	InvoiceNumber string
	To            string
	At            time.Time
}

func (inv *Invoice) clone() Invoice {
	c := *inv
	c.LineItems = slices.Clone(inv.LineItems)
	c.Allocations = slices.Clone(inv.Allocations)
	c.Payments = livePayments(inv.payments)
	c.payments = slices.Clone(inv.payments)
	return c
}

// Request is a request the emulator received, for assertions.
type Request struct {
	// Time is when it arrived, by Options.Now; limits count it then.
	Time time.Time
	// Operation is the method and path template of what was asked, as
	// Xero's OpenAPI description names it: "GET /Invoices", "PUT
	// /Contacts", "GET /Contacts/{ContactID}" (or {ContactNumber} for an
	// id that is not a GUID), "POST /Invoices/{InvoiceID}/Email" (an
	// invoice number also being {InvoiceID}); Accounting API paths are
	// relative to APIPath and in the spec's spelling, whatever case was
	// sent. Other requests are "POST /connect/token", "GET /connections",
	// "GET /invoice/{token}", "POST /invoice/{token}/pay" and "GET /".
	// It is empty for a path the emulator does not serve.
	Operation string
	// API is true for an Accounting API request (under APIPath), whatever
	// its answer; token and connections requests are not API calls.
	API    bool
	Method string
	Path   string
	Query  url.Values
	// Header is a copy with Authorization redacted (its scheme kept).
	Header http.Header
	// Body is the raw body; for the token endpoint, client_secret is
	// redacted.
	Body           []byte
	Status         int // 0 while the request is being answered or when dropped
	IdempotencyKey string
	// ValidationError is what Options.RequestValidator said, if anything.
	ValidationError string
	// ResponseValidationError is what Options.ResponseValidator said of
	// the answer, if anything.
	ResponseValidationError string
	// Fault is set when an injected fault answered, delayed or dropped it.
	Fault bool
}

func newID() string { return uuid.NewString() }

// Kinds of entity ids, for Options.SequentialIDs.
const (
	idContact = iota
	idInvoice
	idOther
	idCreditNote
)

// entityID returns a new id for a contact, an invoice, a credit note or
// another record.
// e.mu must be held.
func (e *Emulator) entityID(kind int) string {
	if !e.opts.SequentialIDs {
		return newID()
	}
	e.idCounters[kind]++
	return fmt.Sprintf("00000000-0000-4000-%c000-%012d", "89ab"[kind], e.idCounters[kind])
}

// Format prints an Emulator without its client secret or webhook key,
// whatever the verb (the webhook key may be an app's real one).
func (e *Emulator) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "emulator.Emulator{tenant: %s, base: %s}", e.opts.TenantID, e.opts.BaseURL)
}
