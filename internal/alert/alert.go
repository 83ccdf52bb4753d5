// Package alert delivers events to operator-configured webhook URLs: each
// event is POSTed as JSON to every URL, from a bounded queue, with retries
// and exponential backoff. The queue never blocks its producer: when it is
// full an event is dropped and counted, so that a dead receiver cannot
// hold up the server.
package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Config of a Notifier.
type Config struct {
	URLs []string // http:// or https:// webhook URLs
	// Queue bounds the events waiting for delivery (0: DefaultQueue).
	Queue int
	// Attempts per event and URL (0: DefaultAttempts); the pause after the
	// first failure is Backoff (0: DefaultBackoff), doubled after each.
	Attempts int
	Backoff  time.Duration
	Client   *http.Client // nil: a client with a 10 s timeout
	Log      *slog.Logger
	// Observer, optional, is told how each delivery ended: "delivered",
	// "failed" (every attempt failed) or "dropped" (the queue was full).
	Observer func(outcome string)
}

// Defaults.
const (
	DefaultQueue    = 64
	DefaultAttempts = 5
	DefaultBackoff  = 500 * time.Millisecond
)

// Notifier delivers events in the background; Close stops it.
type Notifier struct {
	cfg    Config
	queue  chan []byte
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// ErrURL: a webhook URL that is not http(s) with a host.
var ErrURL = errors.New("alert: webhook URL must be http:// or https:// with a host")

// CheckURL refuses a URL that cannot be a webhook.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q", ErrURL, s)
	}
	return nil
}

// New starts a notifier; with no URLs it accepts events and sends nothing.
func New(cfg Config) (*Notifier, error) {
	for _, u := range cfg.URLs {
		if err := CheckURL(u); err != nil {
			return nil, err
		}
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = func(string) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{cfg: cfg, queue: make(chan []byte, cfg.Queue), ctx: ctx, cancel: cancel}
	n.wg.Go(n.run)
	return n, nil
}

// Notify queues event (any JSON-encodable value) for every URL; it never
// blocks. It reports false when the event was dropped (queue full, closed).
func (n *Notifier) Notify(event any) bool {
	if len(n.cfg.URLs) == 0 {
		return true
	}
	body, err := json.Marshal(event)
	if err != nil {
		n.cfg.Log.Error("alert: encode", "err", err)
		return false
	}
	if n.ctx.Err() != nil {
		return false
	}
	select {
	case n.queue <- body:
		return true
	default:
		n.cfg.Log.Warn("alert: queue full, event dropped", "queue", n.cfg.Queue)
		n.cfg.Observer("dropped")
		return false
	}
}

// Close stops delivery; events still queued are not sent.
func (n *Notifier) Close() {
	n.once.Do(func() {
		n.cancel()
		n.wg.Wait()
	})
}

func (n *Notifier) run() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case body := <-n.queue:
			for _, u := range n.cfg.URLs {
				n.deliver(u, body)
			}
		}
	}
}

// deliver POSTs body to u until a 2xx answer or the attempts are spent.
func (n *Notifier) deliver(u string, body []byte) {
	pause := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := n.post(u, body)
		if err == nil {
			n.cfg.Observer("delivered")
			return
		}
		if attempt == n.cfg.Attempts {
			n.cfg.Log.Warn("alert: delivery failed", "url", u, "attempts", attempt, "err", err)
			n.cfg.Observer("failed")
			return
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(pause):
		}
		pause *= 2
	}
}

func (n *Notifier) post(u string, body []byte) error {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hotline-alert")
	res, err := n.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("status %s", res.Status)
	}
	return nil
}
