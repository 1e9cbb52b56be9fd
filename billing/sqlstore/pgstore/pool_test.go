package pgstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPoolResolved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Pool
		want Pool
	}{
		{"defaults", Pool{}, Pool{
			MaxOpenConns: DefaultMaxOpenConns, MaxIdleConns: DefaultMaxOpenConns,
			ConnMaxLifetime: DefaultConnMaxLifetime, ConnMaxIdleTime: DefaultConnMaxIdleTime,
		}},
		{"idle follows open", Pool{MaxOpenConns: 64}, Pool{
			MaxOpenConns: 64, MaxIdleConns: 64,
			ConnMaxLifetime: DefaultConnMaxLifetime, ConnMaxIdleTime: DefaultConnMaxIdleTime,
		}},
		{"set", Pool{MaxOpenConns: 10, MaxIdleConns: 3, ConnMaxLifetime: time.Minute, ConnMaxIdleTime: time.Second}, Pool{
			MaxOpenConns: 10, MaxIdleConns: 3, ConnMaxLifetime: time.Minute, ConnMaxIdleTime: time.Second,
		}},
		{"no limits", Pool{MaxOpenConns: -1, ConnMaxLifetime: -1, ConnMaxIdleTime: -1}, Pool{
			MaxOpenConns: 0, MaxIdleConns: DefaultMaxOpenConns, ConnMaxLifetime: 0, ConnMaxIdleTime: 0,
		}},
		{"no idle", Pool{MaxIdleConns: -1}, Pool{
			MaxOpenConns: DefaultMaxOpenConns, MaxIdleConns: 0,
			ConnMaxLifetime: DefaultConnMaxLifetime, ConnMaxIdleTime: DefaultConnMaxIdleTime,
		}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.in.resolved(), tt.name)
	}
}
