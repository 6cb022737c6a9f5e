package external

// KeptFrames returns how many frames s's process keeps (protocol version
// 2) and how many it was sent in all; 0, 0 for a process of version 1 or
// none.
func KeptFrames(s *Strategy) (held int, sent int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil || s.p.frames == nil {
		return 0, 0
	}
	return len(s.p.frames.held), s.p.frames.next
}

// PID returns the process id of s's running process (0 when none).
func PID(s *Strategy) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil {
		return 0
	}
	return s.p.pid
}

// Computed returns how many compute and fetch messages s has answered.
func Computed(s *Strategy) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.computed
}
