package sqlstore

import "context"

// MigrateTo applies the migrations up to version only, for tests that start
// from an older schema.
func MigrateTo(ctx context.Context, s *Store, version int64) error {
	p, err := s.migrationProvider(ctx)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}
