package xero_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amsbilling/sdk/billing"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
)

// emulatorClient is a Client on an in-process emulator, retries off.
func emulatorClient(t *testing.T, opts emulator.Options) (*xero.Client, *emulator.Emulator) {
	t.Helper()
	emu := emulator.New(opts)
	t.Cleanup(func() { _ = emu.Close() })
	const base = "http://xero.emulator"
	client, err := xero.NewClient(xero.Config{
		ClientID:     emu.ClientID(),
		ClientSecret: billing.NewSecret(emu.ClientSecret()),
		TenantID:     emu.TenantID(),
		APIURL:       base + emulator.APIPath,
		TokenURL:     base + emulator.TokenPath,
	}, xero.WithHTTPClient(emu.Client()), xero.WithRetries(1, 0))
	require.NoError(t, err)
	return client, emu
}

func TestAccounts(t *testing.T) {
	tests := []struct {
		name  string
		opts  emulator.Options
		where string
		want  []xero.Account // AccountID and TaxType not compared
		all   int            // when want is nil: how many accounts
	}{
		{name: "revenue code", where: `Code==` + xero.QuoteWhere("200"),
			want: []xero.Account{{Code: "200", Name: "Sales", Type: "REVENUE", Class: xero.AccountClassRevenue, Status: xero.AccountStatusActive}}},
		{name: "bank code", where: `Code=="090"`,
			want: []xero.Account{{Code: "090", Name: "Business Bank Account", Type: "BANK", Class: "ASSET", Status: xero.AccountStatusActive}}},
		{name: "archived code", opts: emulator.Options{ArchivedAccountCodes: []string{"260"}}, where: `Code=="260"`,
			want: []xero.Account{{Code: "260", Name: "Other Revenue", Type: "REVENUE", Class: xero.AccountClassRevenue, Status: xero.AccountStatusArchived}}},
		{name: "unknown code", where: `Code=="999"`, want: []xero.Account{}},
		{name: "quotes are escaped", where: `Code==` + xero.QuoteWhere(`2"00\`), want: []xero.Account{}},
		{name: "no filter lists the chart", all: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, _ := emulatorClient(t, tt.opts)
			got, err := client.Accounts(t.Context(), tt.where)
			require.NoError(t, err)
			if tt.want == nil {
				assert.Len(t, got, tt.all)
				return
			}
			require.Len(t, got, len(tt.want))
			for i, a := range got {
				assert.NotEmpty(t, a.AccountID)
				a.AccountID, a.TaxType = "", ""
				assert.Equal(t, tt.want[i], a)
			}
		})
	}
}

func TestCurrencies(t *testing.T) {
	tests := []struct {
		name string
		opts emulator.Options
		want []string
	}{
		{"base only", emulator.Options{}, []string{"NZD"}},
		{"added currencies", emulator.Options{Currency: "AUD", Currencies: []string{"usd", "NZD"}}, []string{"AUD", "USD", "NZD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, _ := emulatorClient(t, tt.opts)
			got, err := client.Currencies(t.Context())
			require.NoError(t, err)
			var codes []string
			for _, c := range got {
				codes = append(codes, c.Code)
				assert.NotEmpty(t, c.Description)
			}
			assert.Equal(t, tt.want, codes)
		})
	}
}

func TestOrganisation(t *testing.T) {
	tests := []struct {
		name string
		opts emulator.Options
		want xero.Organisation // OrganisationID and LegalName not compared
	}{
		{"real organisation", emulator.Options{TenantName: "Acme Ltd"},
			xero.Organisation{Name: "Acme Ltd", BaseCurrency: "NZD", CountryCode: "NZ", OrganisationStatus: "ACTIVE", Version: "NZ"}},
		{"demo company", emulator.Options{DemoCompany: true, Currency: "AUD"},
			xero.Organisation{Name: emulator.DefaultTenantName, BaseCurrency: "AUD", CountryCode: "AU", IsDemoCompany: true, OrganisationStatus: "ACTIVE", Version: "AU"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, emu := emulatorClient(t, tt.opts)
			got, err := client.Organisation(t.Context())
			require.NoError(t, err)
			assert.Equal(t, emu.TenantID(), got.OrganisationID)
			got.OrganisationID, got.LegalName = "", ""
			assert.Equal(t, tt.want, got)
		})
	}
}

// Without the settings scope Xero answers 403: the error says so.
func TestSettingsForbidden(t *testing.T) {
	client, emu := emulatorClient(t, emulator.Options{})
	emu.InjectFault(emulator.Fault{Status: http.StatusForbidden, Count: 3, Path: emulator.APIPath})
	_, err := client.Accounts(t.Context(), "")
	assert.ErrorIs(t, err, xero.ErrForbidden)
	_, err = client.Currencies(t.Context())
	assert.ErrorIs(t, err, xero.ErrForbidden)
	_, err = client.Organisation(t.Context())
	assert.ErrorIs(t, err, xero.ErrForbidden)
}
