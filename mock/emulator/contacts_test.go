package emulator_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateContact(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	var out struct {
		ID       string `json:"Id"`
		Status   string
		Contacts []contactJSON
	}
	resp := a.call(http.MethodPut, "/Contacts", contactsBody(map[string]any{
		"Name": "Ann Lee (1b2c)", "AccountNumber": "1b2c", "EmailAddress": "ann@example.com",
	}), &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "OK", out.Status)
	require.Len(t, out.Contacts, 1)
	c := out.Contacts[0]
	_, err := uuid.Parse(c.ContactID)
	require.NoError(t, err)
	assert.Equal(t, "Ann Lee (1b2c)", c.Name)
	assert.Equal(t, "1b2c", c.AccountNumber)
	assert.Equal(t, "ann@example.com", c.EmailAddress)
	assert.Equal(t, "ACTIVE", c.ContactStatus)

	stored := a.e.Contacts()
	require.Len(t, stored, 1)
	assert.Equal(t, c.ContactID, stored[0].ContactID)
	assert.Equal(t, "1b2c", stored[0].AccountNumber)
	assert.NotEmpty(t, resp.Header.Get("X-MinLimit-Remaining"))
}

func TestCreateContactValidation(t *testing.T) {
	tests := []struct {
		name    string
		contact map[string]any
		want    []string
	}{
		{"duplicate name", map[string]any{"Name": "Ann Lee", "AccountNumber": "other"},
			[]string{"The contact name Ann Lee is already assigned to another contact. The contact name must be unique across all active contacts."}},
		{"duplicate name differs in case", map[string]any{"Name": "ann lee"},
			[]string{"The contact name ann lee is already assigned to another contact. The contact name must be unique across all active contacts."}},
		{"duplicate account number", map[string]any{"Name": "Someone Else", "AccountNumber": "acc-1"},
			[]string{"Account Number already exists"}},
		{"missing name", map[string]any{"AccountNumber": "acc-2"}, []string{"Contact Name cannot be empty."}},
		{"invalid email", map[string]any{"Name": "Bob", "EmailAddress": "not an email"}, []string{"Email address must be valid."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, emulator.Options{})
			a.createContact("Ann Lee", "acc-1", "ann@example.com")
			var out errorJSON
			resp := a.call(http.MethodPut, "/Contacts", contactsBody(tt.contact), &out)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, 10, out.ErrorNumber)
			assert.Equal(t, "ValidationException", out.Type)
			assert.Equal(t, "A validation exception occurred", out.Message)
			assert.Equal(t, tt.want, out.messages())
			assert.Len(t, a.e.Contacts(), 1, "nothing created")
		})
	}
}

func TestCreateContactsBatch(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	two := contactsBody(map[string]any{"Name": "Ann"}, map[string]any{"Name": "Ann"})

	// All or nothing by default: the second duplicates the first.
	var bad errorJSON
	resp := a.call(http.MethodPut, "/Contacts", two, &bad)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Len(t, bad.Elements, 1)
	assert.Empty(t, a.e.Contacts())

	// summarizeErrors=false keeps the valid ones and flags the others.
	var out contactsJSON
	resp = a.call(http.MethodPut, "/Contacts?summarizeErrors=false", two, &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, out.Contacts, 2)
	assert.False(t, out.Contacts[0].HasValidationErrors)
	assert.True(t, out.Contacts[1].HasValidationErrors)
	assert.Len(t, a.e.Contacts(), 1)
}

func TestUpdateContact(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	id := a.createContact("Ann Lee", "acc-1", "ann@example.com")
	a.createContact("Bob Ray", "acc-2", "")

	// Renaming to itself is fine; only the fields sent change.
	var out contactsJSON
	resp := a.call(http.MethodPost, "/Contacts/"+id, contactsBody(map[string]any{"Name": "Ann Lee", "EmailAddress": "new@example.com"}), &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, out.Contacts, 1)
	assert.Equal(t, id, out.Contacts[0].ContactID)
	assert.Equal(t, "new@example.com", out.Contacts[0].EmailAddress)
	assert.Equal(t, "acc-1", out.Contacts[0].AccountNumber)

	var bad errorJSON
	resp = a.call(http.MethodPost, "/Contacts/"+id, contactsBody(map[string]any{"Name": "Bob Ray"}), &bad)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, []string{"The contact name Bob Ray is already assigned to another contact. The contact name must be unique across all active contacts."}, bad.messages())

	resp = a.call(http.MethodPost, "/Contacts/"+id, contactsBody(map[string]any{"AccountNumber": "acc-2"}), &bad)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, []string{"Account Number already exists"}, bad.messages())

	resp, body := a.raw(http.MethodPost, "/Contacts/"+uuid.NewString(), contactsBody(map[string]any{"Name": "X"}))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "The resource you're looking for cannot be found", string(body))

	// POST /Contacts updates by ContactID and creates the others.
	resp = a.call(http.MethodPost, "/Contacts", contactsBody(
		map[string]any{"ContactID": id, "Name": "Ann Lee-Ray"},
		map[string]any{"Name": "Cat Moe"},
	), &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, out.Contacts, 2)
	assert.Equal(t, id, out.Contacts[0].ContactID)
	assert.Equal(t, "Ann Lee-Ray", out.Contacts[0].Name)
	assert.Len(t, a.e.Contacts(), 3)
}

func TestArchivedContactFreesItsName(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	id := a.createContact("Ann Lee", "acc-1", "")
	resp := a.call(http.MethodPost, "/Contacts/"+id, contactsBody(map[string]any{"ContactStatus": "ARCHIVED"}), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	a.createContact("Ann Lee", "acc-1", "")

	var out contactsJSON
	a.call(http.MethodGet, "/Contacts", nil, &out)
	assert.Len(t, out.Contacts, 1, "archived contacts are left out")
	a.call(http.MethodGet, "/Contacts?includeArchived=true", nil, &out)
	assert.Len(t, out.Contacts, 2)
}

func TestGetContacts(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	annID := a.createContact("Ann Lee", "acc-1", "ann@example.com")
	a.createContact(`Bob "Bobby" O'Ray`, "acc-2", "")
	a.createContact("Cat Moe", "acc-3", "cat@example.com")

	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"all, by name", nil, []string{"Ann Lee", `Bob "Bobby" O'Ray`, "Cat Moe"}},
		{"account number", url.Values{"where": {`AccountNumber=="acc-3"`}}, []string{"Cat Moe"}},
		{"name with backslash-escaped quotes", url.Values{"where": {`Name=="Bob \"Bobby\" O'Ray"`}}, []string{`Bob "Bobby" O'Ray`}},
		{"name with doubled quotes", url.Values{"where": {`Name=="Bob ""Bobby"" O'Ray"`}}, []string{`Bob "Bobby" O'Ray`}},
		{"and", url.Values{"where": {`Name=="Ann Lee" AND AccountNumber=="acc-1"`}}, []string{"Ann Lee"}},
		{"or", url.Values{"where": {`AccountNumber=="acc-1" || AccountNumber=="acc-3"`}}, []string{"Ann Lee", "Cat Moe"}},
		{"contains", url.Values{"where": {`EmailAddress.Contains("example")`}}, []string{"Ann Lee", "Cat Moe"}},
		{"guid", url.Values{"where": {`ContactID==Guid("` + annID + `")`}}, []string{"Ann Lee"}},
		{"no match", url.Values{"where": {`AccountNumber=="none"`}}, []string{}},
		{"ids", url.Values{"IDs": {annID + "," + uuid.NewString()}}, []string{"Ann Lee"}},
		{"search term", url.Values{"searchTerm": {"moe"}}, []string{"Cat Moe"}},
		{"order desc", url.Values{"order": {"Name DESC"}}, []string{"Cat Moe", `Bob "Bobby" O'Ray`, "Ann Lee"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out contactsJSON
			resp := a.call(http.MethodGet, "/Contacts?"+tt.query.Encode(), nil, &out)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			names := []string{}
			for _, c := range out.Contacts {
				names = append(names, c.Name)
			}
			assert.Equal(t, tt.want, names)
		})
	}
}

func TestGetContactsBadWhere(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	for _, where := range []string{`Colour=="red"`, `Name=="unterminated`, `Name==`, `Name=="a" AND`} {
		var out errorJSON
		resp := a.call(http.MethodGet, "/Contacts?"+url.Values{"where": {where}}.Encode(), nil, &out)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, where)
		assert.Equal(t, "QueryParseException", out.Type, where)
		assert.NotEmpty(t, out.Message, where)
	}
}

func TestGetContact(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	id := a.createContact("Ann Lee", "acc-1", "")
	var out contactsJSON
	resp := a.call(http.MethodGet, "/Contacts/"+id, nil, &out)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, out.Contacts, 1)
	assert.Equal(t, "Ann Lee", out.Contacts[0].Name)

	resp, _ = a.raw(http.MethodGet, "/Contacts/"+uuid.NewString(), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestContactPaging(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	var batch []map[string]any
	for i := range 150 {
		batch = append(batch, map[string]any{"Name": "Member " + string(rune('A'+i/26)) + string(rune('a'+i%26))})
	}
	resp := a.call(http.MethodPut, "/Contacts", map[string]any{"Contacts": batch}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var out struct {
		Contacts   []contactJSON
		Pagination struct{ Page, PageSize, PageCount, ItemCount int } `json:"pagination"`
	}
	a.call(http.MethodGet, "/Contacts?page=2", nil, &out)
	assert.Len(t, out.Contacts, 50)
	assert.Equal(t, 2, out.Pagination.Page)
	assert.Equal(t, 100, out.Pagination.PageSize)
	assert.Equal(t, 2, out.Pagination.PageCount)
	assert.Equal(t, 150, out.Pagination.ItemCount)
}

func TestMalformedBody(t *testing.T) {
	a := newAPI(t, emulator.Options{})
	var out errorJSON
	resp := a.call(http.MethodPut, "/Contacts", []byte(`{"Contacts":[{"Name": 12}]}`), &out)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "PostDataInvalidException", out.Type)
	resp = a.call(http.MethodPut, "/Contacts", []byte(`{`), &out)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "PostDataInvalidException", out.Type)
}
