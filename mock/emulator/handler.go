package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/internal/ctxwait"
	"github.com/amsbilling/sdk/internal/xerolimit"
)

// reply is a complete answer, kept whole so an idempotent replay can send it
// again byte for byte.
type reply struct {
	status      int
	contentType string
	body        []byte
	header      http.Header // extra headers, may be nil
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return textReply(http.StatusInternalServerError, "emulator: cannot encode the answer")
	}
	return reply{status: status, contentType: "application/json; charset=utf-8", body: b}
}

func textReply(status int, text string) reply {
	return reply{status: status, contentType: "text/plain; charset=utf-8", body: []byte(text)}
}

// notFound is Xero's 404: plain text, whatever was asked for.
func notFound() reply {
	return textReply(http.StatusNotFound, "The resource you're looking for cannot be found")
}

// payloadTooLarge is Xero's 413 for a body over its 3.5 MB limit, a problem
// body as Xero-Java #349 reports it.
func payloadTooLarge() reply {
	return problemReply(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "PayloadTooLarge")
}

// validationReply is Xero's 400 for records that failed validation.
func validationReply(elements []any) reply {
	return jsonReply(http.StatusBadRequest, apiError{
		ErrorNumber: 10,
		Type:        "ValidationException",
		Message:     "A validation exception occurred",
		Elements:    elements,
	})
}

// postDataInvalid is Xero's 400 for a body it cannot read.
func postDataInvalid(detail string) reply {
	return jsonReply(http.StatusBadRequest, apiError{
		ErrorNumber: 17,
		Type:        "PostDataInvalidException",
		Message:     "JSON for post data was invalid," + detail,
	})
}

func queryParseError(msg string) reply {
	return jsonReply(http.StatusBadRequest, apiError{ErrorNumber: 16, Type: "QueryParseException", Message: msg})
}

// authProblem is the body of Xero's 401 and 403 answers.
func authProblem(status int, detail string) reply {
	return problemReply(status, http.StatusText(status), detail)
}

// problemReply is an answer with Xero's problem body.
func problemReply(status int, title, detail string) reply {
	return jsonReply(status, problem{
		Title:      title,
		Status:     status,
		Detail:     detail,
		Instance:   newID(),
		Extensions: map[string]any{},
	})
}

// withHeaders returns rp with h added under its own headers.
func (rp reply) withHeaders(h http.Header) reply {
	if len(h) == 0 {
		return rp
	}
	merged := h.Clone()
	for k, v := range rp.header {
		merged[k] = v
	}
	rp.header = merged
	return rp
}

func (rp reply) write(w http.ResponseWriter) {
	h := w.Header()
	for k, vs := range rp.header {
		h[k] = append([]string(nil), vs...)
	}
	if len(rp.body) > 0 || rp.contentType != "" {
		h.Set("Content-Type", rp.contentType)
	}
	if rp.status != http.StatusNoContent {
		h.Set("Content-Length", strconv.Itoa(len(rp.body)))
	}
	w.WriteHeader(rp.status)
	if rp.status != http.StatusNoContent && len(rp.body) > 0 {
		_, _ = w.Write(rp.body)
	}
}

// apiCall is one Accounting API request being answered.
type apiCall struct {
	r     *http.Request
	body  []byte
	query url.Values
	segs  []string // path segments after APIPath, as sent
	base  string   // base URL for links
	// warnings are a fault's, for every record of a write's answer.
	warnings []string
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := e.now()
	body, err := io.ReadAll(io.LimitReader(r.Body, xerolimit.MaxWriteBytes+1))
	if err != nil {
		textReply(http.StatusBadRequest, "emulator: cannot read the request body").write(w)
		return
	}
	var tee *teeWriter
	if e.opts.ResponseValidator != nil {
		tee = &teeWriter{ResponseWriter: w}
		w = tee
	}
	var idx, status int
	if len(body) > xerolimit.MaxWriteBytes {
		// Refused before anything else, as by Xero's gateway, and recorded
		// without its body.
		idx = e.record(r, nil, arrived)
		rp := payloadTooLarge()
		rp.write(w)
		status = rp.status
	} else {
		idx = e.record(r, body, arrived)
		status = e.serve(w, r, body, arrived, idx)
	}
	e.setStatus(idx, status)
	if tee != nil && status != 0 {
		if err := e.opts.ResponseValidator(r, tee.status, tee.Header().Clone(), tee.body.Bytes()); err != nil {
			e.update(idx, func(req *Request) { req.ResponseValidationError = err.Error() })
		}
	}
	e.log.LogAttrs(r.Context(), slog.LevelDebug, "xero emulator",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status))
}

// serve answers r and returns the status sent, 0 when the connection was
// dropped.
func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, body []byte, arrived time.Time, idx int) int {
	if v := e.opts.RequestValidator; v != nil {
		vr := r.Clone(r.Context())
		vr.Body = io.NopCloser(bytes.NewReader(body))
		vr.ContentLength = int64(len(body))
		if err := v(vr, body); err != nil {
			e.setValidationError(idx, err.Error())
			rp := jsonReply(http.StatusBadRequest, apiError{
				ErrorNumber: 17,
				Type:        "PostDataInvalidException",
				Message:     "request does not match Xero's OpenAPI description: " + err.Error(),
			})
			rp.write(w)
			return rp.status
		}
	}

	if tooLongForXero(r) {
		rp := notFound()
		rp.write(w)
		return rp.status
	}

	f := e.takeFault(r.URL.Path)
	if f != nil {
		e.markFault(idx)
		// A status or drop happens "at the network": before any processing.
		if f.Drop || f.Status != 0 {
			if err := ctxwait.Sleep(r.Context(), f.Latency, nil); err != nil {
				return 0
			}
			if f.Drop {
				dropConn(w)
				return 0
			}
			rp := faultReply(f)
			rp.write(w)
			return rp.status
		}
	}
	var after faultAfter
	if f != nil {
		after = faultAfter{latency: f.Latency, loss: f.LoseAnswer, warnings: f.Warnings}
		if f.DropResponse {
			after.loss = AnswerDropped
		}
	}

	path := r.URL.Path
	switch {
	case isPath(path, TokenPath):
		return e.finish(w, r, after, func() reply { return e.token(r, body) })
	case isPath(path, ConnectionsPath):
		return e.finish(w, r, after, func() reply { return e.connections(r) })
	case hasPrefixFold(path, APIPath+"/") || isPath(path, APIPath):
		return e.api(w, r, body, arrived, after)
	case hasPrefixFold(path, OnlineInvoicePath):
		return e.finish(w, r, after, func() reply { return e.onlinePage(r) })
	case path == "/" || path == "":
		return e.finish(w, r, after, func() reply { return e.indexPage(r) })
	}
	rp := notFound()
	rp.write(w)
	return rp.status
}

// teeWriter keeps a copy of the answer for Options.ResponseValidator.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (t *teeWriter) WriteHeader(status int) {
	if t.status == 0 {
		t.status = status
	}
	t.ResponseWriter.WriteHeader(status)
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	t.body.Write(b)
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and dropConn reach the real writer.
func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// xeroOrigin is where Xero's gateway is; URLs are measured as if sent there.
const xeroOrigin = "https://api.xero.com"

// tooLongForXero reports whether Xero's gateway would refuse r for its URL
// length (xerolimit.GatewayMaxURLLength), measured as the URL Xero would
// see: https://api.xero.com and the request URI as sent, whatever host the
// emulator is reached at. Only the paths api.xero.com serves are checked.
func tooLongForXero(r *http.Request) bool {
	if !hasPrefixFold(r.URL.Path, APIPath+"/") && !isPath(r.URL.Path, ConnectionsPath) {
		return false
	}
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	return len(xeroOrigin)+len(uri) > xerolimit.GatewayMaxURLLength
}

// faultAfter is what a fault does to a request that is processed: a delay
// before it, warnings in its answer, and perhaps a lost answer after it.
type faultAfter struct {
	latency  time.Duration
	loss     AnswerLoss
	warnings []string
}

// send writes rp, or loses it as the fault says.
func (fa faultAfter) send(w http.ResponseWriter, rp reply) int {
	switch fa.loss {
	case AnswerDropped:
		dropConn(w)
		return 0
	case AnswerTimedOut:
		rp = textReply(http.StatusGatewayTimeout, "504 Gateway Timeout")
	case AnswerGarbled:
		if len(rp.body) == 0 {
			rp.body = []byte("{")
		}
		rp.body = rp.body[:(len(rp.body)+1)/2]
		if rp.status == http.StatusNoContent {
			rp.status = http.StatusOK
		}
	}
	rp.write(w)
	return rp.status
}

// finish waits the fault's latency then sends what answer returns.
func (e *Emulator) finish(w http.ResponseWriter, r *http.Request, after faultAfter, answer func() reply) int {
	if err := ctxwait.Sleep(r.Context(), after.latency, nil); err != nil {
		return 0
	}
	return after.send(w, answer())
}

// api answers an Accounting API request: authentication, tenant, content
// negotiation, rate limits, idempotency, then the endpoint.
func (e *Emulator) api(w http.ResponseWriter, r *http.Request, body []byte, arrived time.Time, after faultAfter) int {
	var rlHeader http.Header // once counted, every answer carries the limits
	send := func(rp reply) int {
		rp = rp.withHeaders(rlHeader)
		rp.write(w)
		return rp.status
	}

	if rp, ok := e.checkBearer(r); !ok {
		return send(rp)
	}
	tenant := r.Header.Get("Xero-Tenant-Id")
	if tenant == "" || !strings.EqualFold(tenant, e.opts.TenantID) {
		return send(authProblem(http.StatusForbidden, "AuthenticationUnsuccessful"))
	}
	tenant = e.opts.TenantID

	// Counted once the call is known to be the tenant's, as it arrived,
	// whatever comes of it.
	if e.limiter != nil {
		release, hdr, refused := e.limiter.admit(tenant, arrived)
		if refused != nil {
			return send(*refused)
		}
		defer release()
		rlHeader = hdr
	}

	segs := apiSegments(r.URL.Path)
	handler, allowed := e.route(r.Method, segs)
	if handler == nil {
		if len(allowed) == 0 {
			return send(notFound())
		}
		rp := textReply(http.StatusMethodNotAllowed, "The requested resource does not support http method '"+r.Method+"'.")
		rp.header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
		return send(rp)
	}

	// Xero answers XML unless JSON is asked for; the emulator speaks only
	// JSON, so it refuses instead of surprising the client with XML. An
	// answer without a body (Email's 204) does not care.
	if !(r.Method == http.MethodPost && len(segs) == 3 && strings.EqualFold(segs[2], "Email")) && !acceptsJSON(r.Header.Get("Accept")) {
		return send(textReply(http.StatusNotAcceptable,
			"The emulator answers JSON only: send Accept: application/json (without it Xero answers XML)"))
	}
	if (r.Method == http.MethodPut || r.Method == http.MethodPost) && len(body) > 0 && !isJSON(r.Header.Get("Content-Type")) {
		return send(textReply(http.StatusUnsupportedMediaType,
			"The emulator reads JSON only: send Content-Type: application/json"))
	}

	if err := ctxwait.Sleep(r.Context(), after.latency, nil); err != nil {
		return 0
	}

	key := r.Header.Get("Idempotency-Key")
	call := &apiCall{r: r, body: body, query: r.URL.Query(), segs: segs, base: e.baseURL(r), warnings: after.warnings}

	e.mu.Lock()
	var rp reply
	if key != "" && (r.Method == http.MethodPut || r.Method == http.MethodPost) {
		ik := idemKey{tenant: tenant, key: key}
		if prev, ok := e.idem[ik]; ok && arrived.Sub(prev.at) < e.opts.IdempotencyTTL {
			rp = prev.rp
		} else if len(key) > maxIdempotencyKey {
			rp = validationReply([]any{map[string]any{"ValidationErrors": validationErrors([]string{"Idempotency-Key must be 128 characters or fewer."})}})
		} else {
			rp = handler(call)
			e.rememberIdem(ik, rp, arrived)
		}
	} else {
		rp = handler(call)
	}
	e.mu.Unlock()
	return after.send(w, rp.withHeaders(rlHeader))
}

// rememberIdem stores an answer for replay, forgetting the keys that are
// past IdempotencyTTL or over the bound, oldest first. e.mu must be held.
func (e *Emulator) rememberIdem(k idemKey, rp reply, at time.Time) {
	for len(e.idemOrder) > 0 {
		oldest := e.idemOrder[0]
		if len(e.idemOrder) < e.bounds.idempotencyKeys && at.Sub(oldest.at) < e.opts.IdempotencyTTL {
			break
		}
		if cur, ok := e.idem[oldest.key]; ok && cur.at.Equal(oldest.at) {
			delete(e.idem, oldest.key)
		}
		e.idemOrder = e.idemOrder[1:]
	}
	e.idem[k] = idemEntry{rp: rp, at: at}
	e.idemOrder = append(e.idemOrder, idemRef{key: k, at: at})
}

type apiHandler func(*apiCall) reply

// route finds the endpoint for method and path segments (matched without
// regard to case, as Xero does). When the path exists but not for method it
// returns the allowed methods.
func (e *Emulator) route(method string, segs []string) (apiHandler, []string) {
	type ep struct {
		method string
		h      apiHandler
	}
	var eps []ep
	switch apiTemplate(segs) {
	case "/Contacts":
		eps = []ep{{http.MethodGet, e.getContacts}, {http.MethodPut, e.putContacts}, {http.MethodPost, e.postContacts}}
	case "/Contacts/{ContactID}", "/Contacts/{ContactNumber}":
		eps = []ep{{http.MethodGet, e.getContact}, {http.MethodPost, e.postContact}}
	case "/Invoices":
		eps = []ep{{http.MethodGet, e.getInvoices}, {http.MethodPut, e.putInvoices}, {http.MethodPost, e.postInvoices}}
	case "/Invoices/{InvoiceID}":
		eps = []ep{{http.MethodGet, e.getInvoice}, {http.MethodPost, e.postInvoice}}
	case "/Invoices/{InvoiceID}/Email":
		eps = []ep{{http.MethodPost, e.emailInvoice}}
	case "/Invoices/{InvoiceID}/OnlineInvoice":
		eps = []ep{{http.MethodGet, e.onlineInvoice}}
	case "/Payments":
		eps = []ep{{http.MethodGet, e.getPayments}, {http.MethodPut, e.putPayments}, {http.MethodPost, e.putPayments}}
	case "/Payments/{PaymentID}":
		eps = []ep{{http.MethodGet, e.getPayment}, {http.MethodPost, e.postPayment}}
	case "/CreditNotes":
		eps = []ep{{http.MethodGet, e.getCreditNotes}, {http.MethodPut, e.putCreditNotes}}
	case "/CreditNotes/{CreditNoteID}":
		eps = []ep{{http.MethodGet, e.getCreditNote}}
	case "/CreditNotes/{CreditNoteID}/Allocations":
		eps = []ep{{http.MethodPut, e.putAllocations}}
	case "/Accounts":
		eps = []ep{{http.MethodGet, e.getAccounts}}
	case "/Accounts/{AccountID}":
		eps = []ep{{http.MethodGet, e.getAccount}}
	case "/Currencies":
		eps = []ep{{http.MethodGet, e.getCurrencies}}
	case "/Organisation":
		eps = []ep{{http.MethodGet, e.getOrganisation}}
	}
	var allowed []string
	for _, x := range eps {
		if x.method == method {
			return x.h, nil
		}
		allowed = append(allowed, x.method)
	}
	return nil, allowed
}

// baseURL is where links to the emulator point.
func (e *Emulator) baseURL(r *http.Request) string {
	if e.opts.BaseURL != "" {
		return e.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return scheme + "://" + host
}

func isPath(path, want string) bool {
	return strings.EqualFold(strings.TrimRight(path, "/"), want)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func acceptsJSON(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return true
		}
	}
	return false
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// record keeps a redacted copy of r and returns its index for setStatus.
func (e *Emulator) record(r *http.Request, body []byte, arrived time.Time) int {
	h := r.Header.Clone()
	if a := h.Get("Authorization"); a != "" {
		scheme, _, _ := strings.Cut(a, " ")
		h.Set("Authorization", scheme+" [redacted]")
	}
	if isPath(r.URL.Path, TokenPath) {
		body = redactForm(body)
	} else {
		body = bytes.Clone(body)
	}
	op, isAPI := operationOf(r.Method, r.URL.Path)
	req := Request{
		Time:           arrived,
		Operation:      op,
		API:            isAPI,
		Method:         r.Method,
		Path:           r.URL.Path,
		Query:          r.URL.Query(),
		Header:         h,
		Body:           body,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.requests) >= e.bounds.requests {
		e.requests = e.requests[1:]
		e.reqDropped++
	}
	e.requests = append(e.requests, req)
	e.callCounts[op]++
	if isAPI {
		e.apiCalls++
	}
	return e.reqDropped + len(e.requests) - 1
}

func redactForm(body []byte) []byte {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return []byte("[unreadable form redacted]")
	}
	if form.Has("client_secret") {
		form.Set("client_secret", "[redacted]")
	}
	return []byte(form.Encode())
}

func (e *Emulator) update(idx int, f func(*Request)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := idx - e.reqDropped; i >= 0 && i < len(e.requests) {
		f(&e.requests[i])
	}
}

func (e *Emulator) setStatus(idx, status int) { e.update(idx, func(r *Request) { r.Status = status }) }
func (e *Emulator) markFault(idx int)         { e.update(idx, func(r *Request) { r.Fault = true }) }
func (e *Emulator) setValidationError(idx int, msg string) {
	e.update(idx, func(r *Request) { r.ValidationError = msg })
}
