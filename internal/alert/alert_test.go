package alert

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// outcomes counts the Observer's reports.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) add(s string) { o.mu.Lock(); o.n[s]++; o.mu.Unlock() }
func (o *outcomes) get(s string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[s]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRetriesThenDelivers: a receiver that fails twice gets the event on
// the third attempt, once, as JSON.
func TestRetriesThenDelivers(t *testing.T) {
	var calls atomic.Int32
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		body.Store(string(b) + " " + r.Header.Get("Content-Type"))
	}))
	defer srv.Close()
	o := &outcomes{n: map[string]int{}}
	n, err := New(Config{URLs: []string{srv.URL}, Backoff: time.Millisecond, Observer: o.add})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !n.Notify(map[string]string{"to": "down"}) {
		t.Fatal("refused")
	}
	waitFor(t, "delivery", func() bool { return o.get("delivered") == 1 })
	if c := calls.Load(); c != 3 {
		t.Errorf("%d attempts, want 3", c)
	}
	if b, _ := body.Load().(string); b != `{"to":"down"} application/json` {
		t.Errorf("body %q", b)
	}
}

// TestGivesUpAndBounds: a dead receiver costs the attempts and no more; a
// full queue drops events without blocking.
func TestGivesUpAndBounds(t *testing.T) {
	block := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-block
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	o := &outcomes{n: map[string]int{}}
	n, err := New(Config{URLs: []string{srv.URL}, Queue: 2, Attempts: 3, Backoff: time.Millisecond, Observer: o.add})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(1) // taken by the worker, stuck on the receiver
	waitFor(t, "the first attempt", func() bool { return calls.Load() == 1 })
	accepted := 0
	for i := range 5 {
		if n.Notify(i) {
			accepted++
		}
	}
	if accepted != 2 || o.get("dropped") != 3 {
		t.Errorf("accepted %d, dropped %d; want 2 and 3 with a queue of 2", accepted, o.get("dropped"))
	}
	close(block)
	waitFor(t, "three events failed", func() bool { return o.get("failed") == 3 })
	if c := calls.Load(); c != 9 {
		t.Errorf("%d attempts, want 3 per event", c)
	}
	n.Close()
	if n.Notify(1) {
		t.Error("a closed notifier accepted an event")
	}
}

func TestCheckURL(t *testing.T) {
	for _, u := range []string{"ftp://x/hook", "http://", "/hook", "://x"} {
		if err := CheckURL(u); err == nil || !strings.Contains(err.Error(), "webhook") {
			t.Errorf("CheckURL(%q) = %v", u, err)
		}
	}
	if err := CheckURL("https://ops.example/hook"); err != nil {
		t.Error(err)
	}
}
