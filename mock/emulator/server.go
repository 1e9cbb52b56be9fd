package emulator

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an Emulator listening on a local TCP address.
type Server struct {
	*Emulator
	URL            string // base URL, e.g. http://127.0.0.1:41234
	APIURL         string // URL + APIPath: the XERO_API_URL to use
	TokenURL       string // URL + TokenPath: the XERO_TOKEN_URL to use
	ConnectionsURL string // URL + ConnectionsPath

	srv       *http.Server
	served    chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	closing  bool
	handlers sync.WaitGroup // requests being answered
}

// NewServer starts an Emulator on a free port of 127.0.0.1, like
// httptest.NewServer, and panics if it cannot listen. It is meant for tests
// and examples; call Close when done. Options.BaseURL is set to the
// server's URL unless given.
func NewServer(opts Options) *Server {
	s, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		panic("emulator: cannot listen on 127.0.0.1: " + err.Error())
	}
	return s
}

// Listen starts an Emulator on addr ("127.0.0.1:8080", ":0"...).
// Options.BaseURL defaults to http://<the address listened on>.
func Listen(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	if opts.BaseURL == "" {
		opts.BaseURL = base
	}
	e := New(opts)
	s := &Server{
		Emulator:       e,
		URL:            base,
		APIURL:         base + APIPath,
		TokenURL:       base + TokenPath,
		ConnectionsURL: base + ConnectionsPath,
		served:         make(chan struct{}),
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("xero emulator stopped serving", "error", err)
		}
	}()
	return s, nil
}

// serveHTTP counts the requests being answered, so Close can wait for them.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()
	s.Emulator.ServeHTTP(w, r)
}

// Close stops the server at once, closing its connections (requests in
// flight see their context cancelled), waits for the handlers still running
// to return, then closes the Emulator. It is idempotent.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		err = s.srv.Close()
		<-s.served
		s.handlers.Wait()
		err = errors.Join(err, s.Emulator.Close())
	})
	return err
}

// Env returns the environment an app needs to use this server as its Xero
// through the SDK's configuration (setup.LoadConfig): the URLs, the demo
// credentials and tenant, the webhook key, and settings that suit the demo
// organisation.
func (s *Server) Env() map[string]string {
	env := map[string]string{
		"AMS_BILLING_SERVICE_CLASS": "xero",
		"XERO_API_URL":              s.APIURL,
		"XERO_TOKEN_URL":            s.TokenURL,
		"XERO_CLIENT_ID":            s.opts.ClientID,
		"XERO_CLIENT_SECRET":        s.opts.ClientSecret,
		"XERO_TENANT_ID":            s.opts.TenantID,
		"XERO_ACCOUNT_CODE":         DefaultAccountCode,
		"XERO_AMOUNT_TYPE":          "EXCLUSIVE",
		"XERO_CURRENCY_CODE":        s.opts.Currency,
		"XERO_WEBHOOK_KEY":          s.opts.WebhookKey,
	}
	return env
}
