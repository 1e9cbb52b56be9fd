// Package sqltest opens the test databases the tests of sqlstore, pgstore,
// sqlitestore and sqlurl run on: SQLite files in temporary directories
// always, and PostgreSQL schemas when BILLING_TEST_POSTGRES_URL is set. Only
// tests import it.
package sqltest
