package sqlstore

// MarkRounds returns how many rounds of grouped marks s has begun.
func MarkRounds(s *Store) int64 { return s.marks.rounds.Load() }

// MarkQueued returns how many MarkUpdateNeeded calls wait for the next
// round.
func MarkQueued(s *Store) int {
	s.marks.mu.Lock()
	defer s.marks.mu.Unlock()
	return len(s.marks.queue)
}
