//go:build tools

package billing

import (
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jarcoal/httpmock"
	_ "github.com/pressly/goose/v3"
	_ "github.com/shopspring/decimal"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "modernc.org/sqlite"
)
