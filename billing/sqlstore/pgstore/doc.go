// Package pgstore opens a [sqlstore.Store] on PostgreSQL through pgx
// (github.com/jackc/pgx/v5/stdlib). It does not link SQLite: an app that
// stores its billing data in PostgreSQL imports this package and builds no
// SQLite driver.
//
//	store, err := pgstore.Open(ctx, "postgres://billing:secret@db:5432/app?sslmode=require",
//		pgstore.WithSchema("billing"))
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//
// [Open] takes a postgres:// or postgresql:// URL or a libpq keyword/value
// string ("host=db user=app password=... dbname=billing"), connects, and
// applies the embedded migrations unless [WithoutMigrate] is given. Several
// replicas can share the database: a session advisory lock serialises their
// migrations, and claims use FOR UPDATE SKIP LOCKED in a statement that
// commits before the provider is called. Errors never contain the password.
//
// # Connection pool
//
// Webhook deliveries arrive in bursts, each needing a connection at once.
// database/sql on its own keeps only 2 idle connections, so under 32
// concurrent deliveries about one in four dialled a new connection (a TCP
// and TLS handshake and a server process) and closed it again right after.
// Open sizes the pool for bursts instead; [WithPool] changes each knob, a
// zero field keeping its default and a negative one meaning no limit:
//
//   - MaxOpenConns (default [DefaultMaxOpenConns], 32): connections open at
//     once, busy or idle. Callers beyond it wait for one to come back. Size
//     it for the concurrent webhook deliveries and fetches of one replica,
//     and keep it times the replicas under the server's max_connections
//     (100 by default), leaving room for other clients.
//   - MaxIdleConns (default: MaxOpenConns): connections kept open between
//     bursts. Equal to MaxOpenConns, a burst as large as the last one
//     reuses every connection and dials none.
//   - ConnMaxLifetime (default [DefaultConnMaxLifetime], 1 hour): a
//     connection is closed this long after it was opened, so the pool
//     follows a failover or a DNS change and server-side memory is freed.
//   - ConnMaxIdleTime (default [DefaultConnMaxIdleTime], 30 minutes): a
//     connection unused this long is closed, so a quiet app hands its
//     connections back to the server.
//
// The two time limits are pgxpool's defaults. [sqlstore.Store.DB] returns the
// pool, for its Stats or other settings.
package pgstore
