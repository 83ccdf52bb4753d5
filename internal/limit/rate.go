package limit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket per key (a source address): Burst requests at
// once, then one every Every. It remembers at most MaxKeys keys; a full
// bucket is forgotten first, since forgetting it changes nothing.
type Rate struct {
	every time.Duration
	burst int
	max   int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// NewRate allows burst requests per key, then one per every; it tracks at
// most maxKeys keys at a time.
func NewRate(every time.Duration, burst, maxKeys int) *Rate {
	return &Rate{every: every, burst: burst, max: maxKeys, now: time.Now, buckets: make(map[string]*rate.Limiter)}
}

// Every is how often a key gets a token back.
func (r *Rate) Every() time.Duration { return r.every }

// Allow spends one token of key's bucket, if it has one.
func (r *Rate) Allow(key string) bool {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.buckets[key]
	if !ok {
		if len(r.buckets) >= r.max {
			r.prune(now)
		}
		b = rate.NewLimiter(rate.Every(r.every), r.burst)
		r.buckets[key] = b
	}
	return b.AllowN(now, 1)
}

// prune forgets the full buckets; if none is full, the fullest one (the
// key that will least notice).
func (r *Rate) prune(now time.Time) {
	var fullest string
	most := -1.0
	for k, b := range r.buckets {
		t := b.TokensAt(now)
		if t >= float64(r.burst) {
			delete(r.buckets, k)
			continue
		}
		if t > most {
			fullest, most = k, t
		}
	}
	if len(r.buckets) >= r.max {
		delete(r.buckets, fullest)
	}
}
