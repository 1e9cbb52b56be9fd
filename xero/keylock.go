package xero

import (
	"context"
	"sync"
)

// keyedLock serialises work per key. An entry lives only while someone
// holds or waits for its key, so memory follows the work in flight.
type keyedLock[K comparable] struct {
	mu      sync.Mutex
	entries map[K]*lockEntry
}

type lockEntry struct {
	sem  chan struct{} // holds a token while the key is locked
	refs int           // holders and waiters
}

// lock waits for key, or for ctx to end. On success the caller must call
// the returned unlock exactly once.
func (l *keyedLock[K]) lock(ctx context.Context, key K) (unlock func(), err error) {
	l.mu.Lock()
	if l.entries == nil {
		l.entries = make(map[K]*lockEntry)
	}
	e := l.entries[key]
	if e == nil {
		e = &lockEntry{sem: make(chan struct{}, 1)}
		l.entries[key] = e
	}
	e.refs++
	l.mu.Unlock()

	select {
	case e.sem <- struct{}{}:
		return func() {
			<-e.sem
			l.forget(key, e)
		}, nil
	case <-ctx.Done():
		l.forget(key, e)
		return nil, ctx.Err()
	}
}

func (l *keyedLock[K]) forget(key K, e *lockEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(l.entries, key)
	}
}

// size reports how many keys have an entry, for tests.
func (l *keyedLock[K]) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
