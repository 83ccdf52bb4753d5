package limit

import (
	"log/slog"
	"sync"
	"time"
)

// Warner logs warnings of one kind at most once per interval; the warning
// that ends a quiet spell says how many were left out. A flood of refusals
// thus costs a few log lines a second, not one per refusal.
type Warner struct {
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time // time.Now; tests set it

	mu   sync.Mutex
	last map[string]time.Time
	left map[string]int
}

// NewWarner logs to log at most once per interval per kind.
func NewWarner(log *slog.Logger, interval time.Duration) *Warner {
	return &Warner{log: log, interval: interval, now: time.Now, last: make(map[string]time.Time), left: make(map[string]int)}
}

// Warn logs msg with args at warn level unless a warning of this kind was
// logged less than an interval ago.
func (w *Warner) Warn(kind, msg string, args ...any) {
	w.mu.Lock()
	now := w.now()
	if now.Sub(w.last[kind]) < w.interval {
		w.left[kind]++
		w.mu.Unlock()
		return
	}
	skipped := w.left[kind]
	w.last[kind] = now
	delete(w.left, kind)
	w.mu.Unlock()
	if skipped > 0 {
		args = append(args, "suppressed", skipped)
	}
	w.log.Warn(msg, args...)
}
