package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// versionTable is the table that records which migrations have run. It is
// not goose's default name, so an app that migrates its own tables with
// goose in the same database keeps its own history.
const versionTable = "billing_schema_version"

// ErrSchemaTooNew is returned by Migrate (and so by the Open functions of
// pgstore, sqlitestore and sqlurl) when the database was migrated by a newer
// release of this package than the running one. The error names both
// versions. Upgrade the code, or use the database's own release.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this code")

// Migrate applies the migrations the database has not had yet. Running it
// again, or from several processes at once, is harmless: on PostgreSQL a
// session advisory lock (one per schema) lets one process migrate at a time;
// on SQLite every migration runs in a write transaction and creates its
// tables only if they are missing.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrationProvider(ctx)
	if err != nil {
		return err
	}
	sources := p.ListSources()
	newest := sources[len(sources)-1].Version
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: read schema version: %w", err)
	}
	if current > newest {
		return fmt.Errorf("%w: the database is at version %d, this code knows versions up to %d", ErrSchemaTooNew, current, newest)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

func (s *Store) migrationProvider(ctx context.Context) (*goose.Provider, error) {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	opts := []goose.ProviderOption{
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
	}
	if s.dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		schema, err := s.currentSchema(ctx)
		if err != nil {
			return nil, err
		}
		// Processes migrating different schemas do not wait for each other.
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(schemaLockID(schema)),
			lock.WithLockTimeout(1, 300), // retry every second, for up to 5 minutes
		)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, s.db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}

// currentSchema returns the PostgreSQL schema new tables go to.
func (s *Store) currentSchema(ctx context.Context) (string, error) {
	var schema sql.NullString
	if err := s.db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", fmt.Errorf("sqlstore: read current schema: %w", err)
	}
	if schema.Valid {
		return schema.String, nil
	}
	var searchPath string
	if err := s.db.QueryRowContext(ctx, "SELECT current_setting('search_path')").Scan(&searchPath); err != nil {
		return "", fmt.Errorf("sqlstore: read search_path: %w", err)
	}
	if name, ok := singleSchema(searchPath); ok {
		// pgstore.WithSchema names one schema: it does not exist.
		return "", fmt.Errorf("sqlstore: schema %q does not exist; create it before migrating", name)
	}
	return "", errors.New("sqlstore: no schema to create tables in: the search_path names no existing schema")
}

// singleSchema returns the schema a search_path setting names when it names
// exactly one, as a quoted ("My""Schema") or a plain (billing) identifier,
// other than "$user".
func singleSchema(searchPath string) (string, bool) {
	p := strings.TrimSpace(searchPath)
	var name string
	switch {
	case len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"':
		inner := p[1 : len(p)-1]
		// Inside, a quote is written twice; a lone one ends the identifier.
		if strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) {
			return "", false
		}
		name = strings.ReplaceAll(inner, `""`, `"`)
	case strings.ContainsAny(p, `", `):
		return "", false
	default:
		// PostgreSQL folds an unquoted identifier to lower case.
		name = strings.ToLower(p)
	}
	if name == "" || name == "$user" {
		return "", false
	}
	return name, true
}

// schemaLockID derives the advisory lock id for migrating schema.
func schemaLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("amsbilling/sqlstore migrate " + schema))
	return int64(h.Sum64())
}
