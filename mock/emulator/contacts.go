package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amsbilling/sdk/internal/xerolimit"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Contact statuses.
const (
	contactActive   = "ACTIVE"
	contactArchived = "ARCHIVED"
)

// contactFields are the fields "where" and "order" may name.
func contactFields() map[string]func(*Contact) string {
	return map[string]func(*Contact) string{
		"ContactID":     func(c *Contact) string { return c.ContactID },
		"ContactNumber": func(c *Contact) string { return c.ContactNumber },
		"AccountNumber": func(c *Contact) string { return c.AccountNumber },
		"ContactStatus": func(c *Contact) string { return c.ContactStatus },
		"Name":          func(c *Contact) string { return c.Name },
		"FirstName":     func(c *Contact) string { return c.FirstName },
		"LastName":      func(c *Contact) string { return c.LastName },
		"EmailAddress":  func(c *Contact) string { return c.EmailAddress },
		"IsCustomer":    func(c *Contact) string { return strconv.FormatBool(c.IsCustomer) },
	}
}

// decodeList reads a write body: {"<key>":[...]}, a bare array, or one bare
// record, as Xero accepts.
func decodeList[T any](body []byte, key string) ([]T, *reply) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		rp := postDataInvalid("No data was received")
		return nil, &rp
	}
	var list []T
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &list); err != nil {
			rp := postDataInvalid(err.Error())
			return nil, &rp
		}
		return list, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		rp := postDataInvalid(err.Error())
		return nil, &rp
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			if err := json.Unmarshal(v, &list); err != nil {
				rp := postDataInvalid(err.Error())
				return nil, &rp
			}
			return list, nil
		}
	}
	var one T
	if err := json.Unmarshal(trimmed, &one); err != nil {
		rp := postDataInvalid(err.Error())
		return nil, &rp
	}
	return []T{one}, nil
}

// summarize reports whether the request wants all-or-nothing answers
// (Xero's default, summarizeErrors=true).
func summarize(q map[string][]string) bool {
	for k, v := range q {
		if strings.EqualFold(k, "summarizeErrors") && len(v) > 0 {
			return !strings.EqualFold(v[0], "false")
		}
	}
	return true
}

func (e *Emulator) envelope() envelope {
	return envelope{ID: newID(), Status: "OK", ProviderName: "Xero API Emulator", DateTimeUTC: fmt.Sprintf("/Date(%d)/", e.now().UnixMilli())}
}

// contactWrite is one record of a contacts write being validated.
type contactWrite struct {
	c        Contact  // the record as it would be saved
	existing *Contact // nil for a create
	problems []string
}

// PUT /Contacts creates contacts.
func (e *Emulator) putContacts(call *apiCall) reply {
	ins, bad := decodeList[contactIn](call.body, "Contacts")
	if bad != nil {
		return *bad
	}
	writes := make([]*contactWrite, 0, len(ins))
	for _, in := range ins {
		writes = append(writes, e.contactCreate(in))
	}
	return e.commitContacts(call, writes)
}

// POST /Contacts updates the contacts it names by ContactID and creates the
// others.
func (e *Emulator) postContacts(call *apiCall) reply {
	ins, bad := decodeList[contactIn](call.body, "Contacts")
	if bad != nil {
		return *bad
	}
	writes := make([]*contactWrite, 0, len(ins))
	for _, in := range ins {
		id := strings.TrimSpace(str(in.ContactID))
		if id == "" {
			writes = append(writes, e.contactCreate(in))
			continue
		}
		var existing *Contact
		if u, err := uuid.Parse(id); err == nil {
			existing = e.contactByID[u.String()]
		}
		if existing == nil {
			w := &contactWrite{c: contactFromInput(in)}
			w.c.ContactID = id
			w.problems = []string{"The contact with ContactID " + id + " could not be found."}
			writes = append(writes, w)
			continue
		}
		writes = append(writes, e.contactUpdate(existing, in))
	}
	return e.commitContacts(call, writes)
}

// POST /Contacts/{ContactID} updates one contact.
func (e *Emulator) postContact(call *apiCall) reply {
	existing := e.findContact(call.segs[1])
	if existing == nil {
		return notFound()
	}
	ins, bad := decodeList[contactIn](call.body, "Contacts")
	if bad != nil {
		return *bad
	}
	if len(ins) == 0 {
		return postDataInvalid("No contact was received")
	}
	return e.commitContacts(call, []*contactWrite{e.contactUpdate(existing, ins[0])})
}

func contactFromInput(in contactIn) Contact {
	c := Contact{ContactStatus: contactActive}
	applyContactInput(&c, in)
	return c
}

func applyContactInput(c *Contact, in contactIn) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&c.ContactNumber, in.ContactNumber)
	set(&c.AccountNumber, in.AccountNumber)
	set(&c.Name, in.Name)
	set(&c.FirstName, in.FirstName)
	set(&c.LastName, in.LastName)
	set(&c.EmailAddress, in.EmailAddress)
	if in.ContactStatus != nil && *in.ContactStatus != "" {
		c.ContactStatus = strings.ToUpper(strings.TrimSpace(*in.ContactStatus))
	}
	if len(in.Addresses) > 0 && string(in.Addresses) != "null" {
		c.addresses = bytes.Clone(in.Addresses)
	}
	if len(in.Phones) > 0 && string(in.Phones) != "null" {
		c.phones = bytes.Clone(in.Phones)
	}
}

func (e *Emulator) contactCreate(in contactIn) *contactWrite {
	w := &contactWrite{c: contactFromInput(in)}
	if in.Name == nil || w.c.Name == "" {
		w.problems = append(w.problems, "Contact Name cannot be empty.")
	}
	return w
}

func (e *Emulator) contactUpdate(existing *Contact, in contactIn) *contactWrite {
	w := &contactWrite{c: *existing, existing: existing}
	applyContactInput(&w.c, in)
	if w.c.Name == "" {
		w.problems = append(w.problems, "Contact Name cannot be empty.")
	}
	return w
}

// contactProblems checks c against the saved contacts (except itself) and
// against the records before it in the same request. e.mu must be held.
func (e *Emulator) contactProblems(w *contactWrite, earlier []*contactWrite) []string {
	c := &w.c
	var msgs []string
	switch c.ContactStatus {
	case contactActive, contactArchived:
	default:
		msgs = append(msgs, "ContactStatus must be ACTIVE or ARCHIVED.")
	}
	for _, lim := range []struct {
		field, val string
		max        int
	}{{"Name", c.Name, 255}, {"AccountNumber", c.AccountNumber, 50}, {"ContactNumber", c.ContactNumber, 50}, {"EmailAddress", c.EmailAddress, 255}, {"FirstName", c.FirstName, 255}, {"LastName", c.LastName, 255}} {
		if len([]rune(lim.val)) > lim.max {
			msgs = append(msgs, fmt.Sprintf("%s must not be more than %d characters long.", lim.field, lim.max))
		}
	}
	if c.EmailAddress != "" && !validEmail(c.EmailAddress) {
		msgs = append(msgs, "Email address must be valid.")
	}
	if c.ContactStatus != contactActive {
		return msgs
	}
	others := make([]*Contact, 0, len(e.contacts)+len(earlier))
	for _, o := range e.contacts {
		if o != w.existing {
			others = append(others, o)
		}
	}
	for _, o := range earlier {
		if len(o.problems) == 0 {
			others = append(others, &o.c)
		}
	}
	var nameTaken, numberTaken, contactNumberTaken bool
	for _, o := range others {
		if o.ContactStatus != contactActive || (w.existing != nil && o.ContactID == w.existing.ContactID) {
			continue
		}
		if c.Name != "" && strings.EqualFold(o.Name, c.Name) {
			nameTaken = true
		}
		if c.AccountNumber != "" && strings.EqualFold(o.AccountNumber, c.AccountNumber) {
			numberTaken = true
		}
		if c.ContactNumber != "" && strings.EqualFold(o.ContactNumber, c.ContactNumber) {
			contactNumberTaken = true
		}
	}
	if nameTaken {
		msgs = append(msgs, "The contact name "+c.Name+" is already assigned to another contact. The contact name must be unique across all active contacts.")
	}
	if numberTaken {
		msgs = append(msgs, "Account Number already exists")
	}
	if contactNumberTaken {
		msgs = append(msgs, "The contact number "+c.ContactNumber+" is already assigned to another contact.")
	}
	return msgs
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n<>,;") &&
		!strings.Contains(domain, "@") && strings.Contains(domain, ".") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// commitContacts validates every write and saves them: all or none by
// default, the valid ones with summarizeErrors=false (or with
// Options.PartialBatchOnError). e.mu must be held.
func (e *Emulator) commitContacts(call *apiCall, writes []*contactWrite) reply {
	if rp, ok := e.checkBatch(len(writes)); !ok {
		return rp
	}
	failed := false
	for i, w := range writes {
		w.problems = append(w.problems, e.contactProblems(w, writes[:i])...)
		if len(w.problems) > 0 {
			failed = true
		}
	}
	all := summarize(call.query)
	rejected := func(w *contactWrite) wireContact {
		wc := toWireContact(&w.c)
		if wc.ContactID == "" {
			wc.ContactID = unsavedID
		}
		wc.HasValidationErrors = true
		wc.ValidationErrors = validationErrors(w.problems)
		wc.Warnings = validationList(call.warnings)
		return wc
	}
	if failed && all {
		var elements []any
		for _, w := range writes {
			if len(w.problems) > 0 {
				elements = append(elements, rejected(w))
			} else if e.opts.PartialBatchOnError {
				e.saveContact(w)
			}
		}
		return validationReply(elements)
	}

	out := contactsOut{envelope: e.envelope(), Contacts: make([]wireContact, 0, len(writes))}
	for _, w := range writes {
		if len(w.problems) > 0 {
			wc := rejected(w)
			wc.StatusAttributeString = statusError
			out.Contacts = append(out.Contacts, wc)
			continue
		}
		wc := toWireContact(e.saveContact(w))
		wc.Warnings = validationList(call.warnings)
		if !all {
			wc.StatusAttributeString = savedStatus(call.warnings)
			wc.ValidationErrors = []wireValidationError{}
		}
		out.Contacts = append(out.Contacts, wc)
	}
	return jsonReply(http.StatusOK, out)
}

// saveContact saves a valid write. e.mu must be held.
func (e *Emulator) saveContact(w *contactWrite) *Contact {
	w.c.UpdatedDateUTC = e.now()
	if w.existing != nil {
		*w.existing = w.c
		return w.existing
	}
	w.c.ContactID = e.entityID(idContact)
	saved := new(Contact)
	*saved = w.c
	e.contacts = append(e.contacts, saved)
	e.contactByID[saved.ContactID] = saved
	return saved
}

// unsavedID is the id Xero gives a record it refused to create.
const unsavedID = "00000000-0000-0000-0000-000000000000"

// Values of StatusAttributeString on the records of a write answered with
// summarizeErrors=false.
const (
	statusOK      = "OK"
	statusWarning = "WARNING"
	statusError   = "ERROR"
)

func savedStatus(warnings []string) string {
	if len(warnings) > 0 {
		return statusWarning
	}
	return statusOK
}

// checkBatch refuses a write of more records than Options.MaxBatch allows.
func (e *Emulator) checkBatch(n int) (reply, bool) {
	if e.opts.MaxBatch <= 0 || n <= e.opts.MaxBatch {
		return reply{}, true
	}
	return validationReply([]any{map[string]any{"ValidationErrors": validationErrors([]string{
		fmt.Sprintf("The emulator accepts at most %d records in one request (Options.MaxBatch); this one has %d.", e.opts.MaxBatch, n),
	})}}), false
}

// findContact finds a contact by ContactID or, for a value that is not a
// GUID, by ContactNumber (GET /Contacts/{ContactNumber}). e.mu must be held.
func (e *Emulator) findContact(idOrNumber string) *Contact {
	if u, err := uuid.Parse(idOrNumber); err == nil {
		return e.contactByID[u.String()]
	}
	for _, c := range e.contacts {
		if c.ContactNumber != "" && c.ContactNumber == idOrNumber {
			return c
		}
	}
	return nil
}

// GET /Contacts/{ContactID}
func (e *Emulator) getContact(call *apiCall) reply {
	c := e.findContact(call.segs[1])
	if c == nil {
		return notFound()
	}
	return jsonReply(http.StatusOK, contactsOut{envelope: e.envelope(), Contacts: []wireContact{toWireContact(c)}})
}

// GET /Contacts with where, IDs, searchTerm, includeArchived, order, page,
// pageSize and If-Modified-Since.
func (e *Emulator) getContacts(call *apiCall) reply {
	q := call.query
	list := slices.Clone(e.contacts)
	if !strings.EqualFold(q.Get("includeArchived"), "true") {
		list = slices.DeleteFunc(list, func(c *Contact) bool { return c.ContactStatus == contactArchived })
	}
	if ids := q.Get("IDs"); ids != "" {
		want := idSet(ids)
		list = slices.DeleteFunc(list, func(c *Contact) bool { return !want[c.ContactID] })
	}
	if term := strings.ToLower(strings.TrimSpace(q.Get("searchTerm"))); term != "" {
		list = slices.DeleteFunc(list, func(c *Contact) bool {
			for _, f := range []string{c.Name, c.FirstName, c.LastName, c.ContactNumber, c.EmailAddress} {
				if strings.Contains(strings.ToLower(f), term) {
					return false
				}
			}
			return true
		})
	}
	if since, ok := ifModifiedSince(call.r); ok {
		list = slices.DeleteFunc(list, func(c *Contact) bool { return !modifiedSince(c.UpdatedDateUTC, since) })
	}
	if where := q.Get("where"); strings.TrimSpace(where) != "" {
		pred, err := parseWhere(where, "Contact", contactFields())
		if err != nil {
			if rp, ok := asQueryError(err); ok {
				return rp
			}
			return queryParseError(err.Error())
		}
		list = slices.DeleteFunc(list, func(c *Contact) bool { return !pred(c) })
	}
	if rp, ok := sortBy(list, q.Get("order"), "Contact", contactFields(), func(a, b *Contact) int {
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}); !ok {
		return rp
	}
	page, pag, rp, ok := paginate(list, q)
	if !ok {
		return rp
	}
	out := contactsOut{envelope: e.envelope(), Pagination: pag, Contacts: make([]wireContact, 0, len(page))}
	for _, c := range page {
		out.Contacts = append(out.Contacts, toWireContact(c))
	}
	return jsonReply(http.StatusOK, out)
}

// defaultPageSize is Xero's page size when pageSize is not given.
const defaultPageSize = 100

// idSet parses a comma-separated GUID list; entries that are not GUIDs are
// skipped (they match nothing).
func idSet(s string) map[string]bool {
	set := make(map[string]bool)
	for part := range strings.SplitSeq(s, ",") {
		part = strings.Trim(strings.TrimSpace(part), `"`)
		if u, err := uuid.Parse(part); err == nil {
			set[u.String()] = true
		}
	}
	return set
}

// sortBy orders list by an "order" parameter ("Name", "Name DESC"), or by
// byDefault when it is empty.
func sortBy[T any](list []T, order, typeName string, fields map[string]func(T) string, byDefault func(a, b T) int) (reply, bool) {
	order = strings.TrimSpace(order)
	if order == "" {
		slices.SortStableFunc(list, byDefault)
		return reply{}, true
	}
	parts := strings.Fields(order)
	var get func(T) string
	for k, f := range fields {
		if strings.EqualFold(k, parts[0]) {
			get = f
		}
	}
	if get == nil || len(parts) > 2 || (len(parts) == 2 && !strings.EqualFold(parts[1], "ASC") && !strings.EqualFold(parts[1], "DESC")) {
		return queryParseError("No property or field '" + parts[0] + "' exists in type '" + typeName + "'"), false
	}
	desc := len(parts) == 2 && strings.EqualFold(parts[1], "DESC")
	slices.SortStableFunc(list, func(a, b T) int {
		c := compareValues(get(a), get(b))
		if desc {
			return -c
		}
		return c
	})
	return reply{}, true
}

// compareValues orders two field values: as numbers when both are,
// otherwise as strings without regard to case (dates are ISO strings, which
// order as they should).
func compareValues(a, b string) int {
	if x, err := decimal.NewFromString(a); err == nil {
		if y, err := decimal.NewFromString(b); err == nil {
			return x.Cmp(y)
		}
	}
	return cmp.Compare(strings.ToLower(a), strings.ToLower(b))
}

// paginate applies "page" (from 1) and "pageSize" (default 100). Without
// "page" everything is returned and no pagination block. Xero publishes
// 1,000 as the largest pageSize but not what it does with a larger one;
// the emulator serves pages of 1,000 and says so in pagination.pageSize
// rather than refuse.
func paginate[T any](list []T, q map[string][]string) ([]T, *wirePagination, reply, bool) {
	get := func(name string) string {
		for k, v := range q {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	pageStr := get("page")
	if pageStr == "" {
		return list, nil, reply{}, true
	}
	page, err := strconv.Atoi(pageStr)
	if err != nil {
		return nil, nil, postDataInvalid("The value '" + pageStr + "' is not valid for page"), false
	}
	page = max(page, 1)
	size := defaultPageSize
	if s := get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, nil, postDataInvalid("The value '" + s + "' is not valid for pageSize"), false
		}
		if n > 0 {
			size = min(n, xerolimit.MaxPageSize)
		}
	}
	pag := &wirePagination{Page: page, PageSize: size, ItemCount: len(list), PageCount: (len(list) + size - 1) / size}
	start := (page - 1) * size
	if start >= len(list) {
		return []T{}, pag, reply{}, true
	}
	return list[start:min(start+size, len(list))], pag, reply{}, true
}

// modifiedSince reports whether a record updated at updated passes an
// If-Modified-Since of since. Xero compares to the second: a record
// modified in the same second as the header is included.
func modifiedSince(updated, since time.Time) bool {
	return !updated.Truncate(time.Second).Before(since.Truncate(time.Second))
}

// ifModifiedSince reads the If-Modified-Since header (HTTP date or ISO 8601;
// a time without a zone is UTC).
func ifModifiedSince(r *http.Request) (time.Time, bool) {
	v := strings.TrimSpace(r.Header.Get("If-Modified-Since"))
	if v == "" {
		return time.Time{}, false
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
