// Package dsn recognises the forms of database connection strings that
// pgstore, sqlitestore and sqlurl accept. It imports no database driver.
package dsn
