package emulator

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Client returns an *http.Client whose requests go straight into the
// emulator's handler, in the same process: no sockets, any host name. Use
// it with the Xero client's base URLs set to any host, for example
// "http://xero.emulator" + APIPath.
func (e *Emulator) Client() *http.Client {
	return &http.Client{Transport: &inProcess{e: e}}
}

// inProcess is an http.RoundTripper calling the emulator directly.
type inProcess struct{ e *Emulator }

func (t *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("emulator: reading the request body: %w", err)
		}
		body = b
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Shape the request as a server would receive it.
	sr := req.Clone(ctx)
	sr.Body = io.NopCloser(bytes.NewReader(body))
	sr.ContentLength = int64(len(body))
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = "127.0.0.1:0"
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	if sr.Header == nil {
		sr.Header = http.Header{}
	}
	if sr.ContentLength > 0 {
		sr.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}

	w := &recorder{header: http.Header{}}
	t.e.ServeHTTP(w, sr)
	if w.dropped {
		return nil, fmt.Errorf("%w: %w", ErrDropped, io.ErrUnexpectedEOF)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the in-process ResponseWriter.
type recorder struct {
	header  http.Header
	status  int
	body    bytes.Buffer
	dropped bool
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(b)
}

// dropConn ends the exchange without an answer: the connection is hijacked
// and closed on a real server, the in-process client gets ErrDropped, and
// any other ResponseWriter (one that cannot be hijacked) gets a bare 502.
func dropConn(w http.ResponseWriter) {
	for inner := w; inner != nil; {
		if rec, ok := inner.(*recorder); ok {
			rec.dropped = true
			return
		}
		u, ok := inner.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		inner = u.Unwrap()
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	_ = conn.Close()
}
