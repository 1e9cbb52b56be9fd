package xero

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/amsbilling/sdk/internal/xerolimit"
)

// MoneyRecordError is one payment or credit note of a list answer that
// could not be taken while the others were: Xero flagged it
// (StatusAttributeString ERROR or ValidationErrors; Err is then an
// *APIError with StatusCode 200), or it did not decode.
type MoneyRecordError struct {
	Kind string // "payment" or "credit note"
	// ID is the record's id as Xero sent it; empty when even that could
	// not be read.
	ID  string
	Err error
}

func (e *MoneyRecordError) Error() string {
	if e.ID == "" {
		return "xero: an unreadable " + e.Kind + ": " + e.Err.Error()
	}
	return "xero: " + e.Kind + " " + e.ID + ": " + e.Err.Error()
}

// Unwrap returns the record's error.
func (e *MoneyRecordError) Unwrap() error { return e.Err }

// listBody is a paged list answer with its records undecoded.
type listBody struct {
	records    []json.RawMessage
	pagination *pagination
}

// getList sends r and returns the records under key (e.g. "Payments") and
// whether another page follows page: Xero's pagination says so when it is
// there, else a full page (pagedQuery's size) does.
func (c *Client) getList(ctx context.Context, r request, key string, page int) (*response, []json.RawMessage, bool, error) {
	res, err := c.send(ctx, r)
	if err != nil {
		return nil, nil, false, err
	}
	var body map[string]json.RawMessage
	if err := c.decode(r, res, &body); err != nil {
		return nil, nil, false, err
	}
	var out listBody
	if raw, ok := body[key]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &out.records); err != nil {
			return nil, nil, false, fmt.Errorf("xero: %s %s: decoding the %d response: %w", r.method, r.path, res.status, err)
		}
	}
	if raw, ok := body["pagination"]; ok {
		_ = json.Unmarshal(raw, &out.pagination) // informational: a full page says as much
	}
	more := len(out.records) > 0
	if more {
		if p := out.pagination; p != nil && p.PageCount > 0 {
			more = page < p.PageCount
		} else {
			more = len(out.records) >= xerolimit.MaxPageSize
		}
	}
	return res, out.records, more, nil
}

// readMoneyRecords decodes each raw record on its own (readRecord), so one
// that cannot be taken never fails its neighbours. idKey names the record's
// id field; warnings gives the record's Warnings to fill.
func readMoneyRecords[T any](ctx context.Context, c *Client, r request, res *response, raws []json.RawMessage,
	kind, idKey string, warnings func(*T) *[]string) ([]T, []*MoneyRecordError) {
	var (
		out    []T
		failed []*MoneyRecordError
	)
	for _, raw := range raws {
		var head map[string]json.RawMessage
		var id string
		if err := json.Unmarshal(raw, &head); err != nil {
			failed = append(failed, &MoneyRecordError{Kind: kind, Err: fmt.Errorf("decoding a record of the %d response: %w", res.status, err)})
			continue
		}
		_ = json.Unmarshal(head[idKey], &id)
		var v T
		if err := c.readRecord(ctx, r, res, raw, &v, warnings(&v)); err != nil {
			failed = append(failed, &MoneyRecordError{Kind: kind, ID: clip(id, 64), Err: err})
			continue
		}
		out = append(out, v)
	}
	return out, failed
}

// pagedQuery is a list query for page, in pages of Xero's largest size,
// with where when set.
func pagedQuery(where string, page int) url.Values {
	q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(xerolimit.MaxPageSize)}}
	if where != "" {
		q.Set("where", where)
	}
	return q
}

// guidWhere is a where condition matching a GUID field, as Xero's filter
// reads it: Field==Guid("...").
func guidWhere(field, id string) string { return field + `==Guid("` + id + `")` }

// modifiedSince is since as If-Modified-Since carries it: UTC to the second.
func modifiedSince(since time.Time) time.Time { return since.Truncate(time.Second) }
