package doctor_test

import (
	"context"
	"fmt"
	"os"

	"github.com/amsbilling/sdk/mock"
	"github.com/amsbilling/sdk/mock/emulator"
	"github.com/amsbilling/sdk/xero"
	"github.com/amsbilling/sdk/xero/doctor"
	"github.com/amsbilling/sdk/xero/setup"
)

// An app checks its setup against the emulator, where XERO_ACCOUNT_CODE
// names the bank account by mistake.
func Example() {
	ctx := context.Background()
	emu := emulator.New(emulator.Options{TenantName: "Acme Ltd"})
	defer emu.Close()
	env := map[string]string{
		"AMS_BILLING_SERVICE_CLASS": "xero",
		"XERO_API_URL":              "http://xero.emulator" + emulator.APIPath,
		"XERO_TOKEN_URL":            "http://xero.emulator" + emulator.TokenPath,
		"XERO_CLIENT_ID":            emu.ClientID(),
		"XERO_CLIENT_SECRET":        emu.ClientSecret(),
		"XERO_TENANT_ID":            emu.TenantID(),
		"XERO_WEBHOOK_KEY":          "a-webhook-key",
		"XERO_ACCOUNT_CODE":         "090",
		"XERO_AMOUNT_TYPE":          "INCLUSIVE",
		"XERO_CURRENCY_CODE":        "NZD",
	}
	cfg, err := setup.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		doctor.Write(os.Stdout, doctor.ConfigChecks(err))
		return
	}
	client, err := xero.NewClient(cfg.Xero, xero.WithHTTPClient(emu.Client()))
	if err != nil {
		fmt.Println(err)
		return
	}
	checks := doctor.Run(ctx, doctor.Target{Config: cfg, Client: client, Store: mock.NewStore(), Database: "the in-memory store"})
	doctor.Write(os.Stdout, checks)
	fmt.Println("failed:", doctor.Failed(checks))
	// Output:
	// ✓ configuration: AMS_BILLING_SERVICE_CLASS selects Xero and every variable parses (XERO_API_URL http://xero.emulator/api.xro/2.0, not Xero's)
	// ✓ credentials: the token endpoint accepted XERO_CLIENT_ID "XEROEMULATORCLIENTID000000000000" and its secret
	// ✓ tenant: XERO_TENANT_ID 6f9a1c2e-3b4d-4e5f-8a7b-9c0d1e2f3a4b is "Acme Ltd"
	// ✗ account code: XERO_ACCOUNT_CODE 090 is "Business Bank Account", a BANK account of class ASSET, not revenue: sales invoices cannot use it — fix XERO_ACCOUNT_CODE: set it to an active revenue account's code: 200 (Sales), 260 (Other Revenue), 270 (Interest Income)
	// - payment account: XERO_PAYMENT_ACCOUNT_CODE is unset: recording a payment or a refund needs an account each time (-account CODE of examples/record-payment and credit-note) or the variable
	// ✓ currency: XERO_CURRENCY_CODE NZD is the base currency of "Acme Ltd"
	// ✓ demo company: "Acme Ltd" is not the Demo Company (country NZ)
	// ✓ webhook key: XERO_WEBHOOK_KEY holds a key (not shown; only a delivery from Xero proves it is the app's)
	// ✓ email whitelist: AMS_BILLING_EMAIL_WHITELIST_REGEX is unset: invoices are emailed to every contact
	// ✓ database: the in-memory store opened, and its schema answers
	// ✓ marked invoices: none waiting for a fetch
	// ✓ set aside: none
	// ✓ pending creations: none
	// ✓ undelivered events: none
	// ✓ rate budget: 4997 of Xero's 5000 calls a day left for this tenant (57 this minute)
	// failed: true
}
