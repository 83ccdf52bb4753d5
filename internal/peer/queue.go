package peer

import "sync"

// maxQueued bounds a session's backlog of events. A session that falls this
// far behind (its client stopped reading, its loop stalled) is ended rather
// than allowed to hold memory without limit.
const maxQueued = 4096

// queue is an unbounded-until-maxQueued FIFO that never blocks the pusher:
// the call pushes events to members while holding its lock.
type queue struct {
	mu       sync.Mutex
	items    []any
	overflow bool
	notify   chan struct{}
}

func newQueue() *queue { return &queue{notify: make(chan struct{}, 1)} }

func (q *queue) push(ev any) {
	q.mu.Lock()
	if len(q.items) >= maxQueued {
		q.overflow = true
	} else {
		q.items = append(q.items, ev)
	}
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// drain takes everything queued; overflowed reports that events were lost.
func (q *queue) drain() (items []any, overflowed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items, q.items = q.items, nil
	return items, q.overflow
}
