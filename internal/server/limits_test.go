package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"

	"hotline/internal/client"
	"hotline/internal/demo"
	"hotline/internal/metrics"
	"hotline/internal/protocol"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// labelled reads the series of a counter whose label is value (0 if none).
func labelled(fams map[string]*dto.MetricFamily, name, label, value string) float64 {
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// idleSocket opens a WebSocket from the loopback address src and reads the
// challenge, as a flood of idle sockets does; it never joins. It returns
// nil if the server refused the connection.
func idleSocket(ctx context.Context, srv *servertest.Server, src string) *websocket.Conn {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext,
	}}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL(), "http")+"/ws", &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return nil
	}
	if _, _, err := c.Read(ctx); err != nil { // the challenge
		c.CloseNow()
		return nil
	}
	return c
}

// flood opens n idle sockets from src, at most 32 at a time; it returns
// those the server kept.
func flood(t testing.TB, srv *servertest.Server, src string, n int) []*websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var mu sync.Mutex
	var held []*websocket.Conn
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if c := idleSocket(ctx, srv, src); c != nil {
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return held
}

// idleClosed waits for the server to close c and returns the close status.
func idleClosed(c *websocket.Conn) websocket.StatusCode {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// floodJoinTimeout is the join timeout of the flood tests: the production
// default, not a short test value. The idle sockets must outlast the
// legitimate joins made while they are held, and a legitimate join on a
// loaded machine (two cores shared by many test processes) took more than
// 2 s and was closed as idle; 10 s is what a real client gets.
const floodJoinTimeout = server.DefaultJoinTimeout

// TestIdleSocketFlood: a flood of idle WebSockets from one address holds
// at most the per-address bound, each for the join timeout only (closed
// with 1008), and a legitimate native call from another address joins and
// carries media meanwhile and afterwards. The refusals and timeouts are
// counted in /metrics, and the flood's goroutines end with its sockets.
func TestIdleSocketFlood(t *testing.T) {
	before := runtime.NumGoroutine()
	const perAddress = 20
	srv := startServer(t, server.Config{MetricsListen: "127.0.0.1:0", Limits: server.Limits{
		JoinTimeout: floodJoinTimeout, MaxConnsPerAddress: perAddress, MaxConns: 200}})
	held := flood(t, srv, "127.0.0.2", 200)
	t.Logf("flood of 200 idle sockets from one address: %d held, %d goroutines in the process", len(held), runtime.NumGoroutine())
	if len(held) > perAddress || len(held) == 0 {
		t.Fatalf("%d idle sockets held from one address, bound %d", len(held), perAddress)
	}

	// A legitimate call, from 127.0.0.1, while the flood holds its sockets.
	start := time.Now()
	a := join(t, srv, "flooded", "alice", nil)
	b := join(t, srv, "flooded", "bob", nil)
	t.Logf("a legitimate join under the flood: %v (two native endpoints)", time.Since(start))
	servertest.Eventually(t, "media under the flood", flowing(a, "alice", []string{"bob"}, []string{protocol.KindAudio}, 10))

	for _, c := range held {
		if st := idleClosed(c); st != websocket.StatusPolicyViolation {
			t.Fatalf("an idle socket closed with %v, want 1008", st)
		}
	}
	// The call outlives the timeout: joined sessions are not timed out.
	servertest.Eventually(t, "media after the flood", flowing(b, "bob", []string{"alice"}, []string{protocol.KindAudio}, 100))
	if again := flood(t, srv, "127.0.0.2", 5); len(again) != 5 {
		t.Errorf("the address got %d of 5 sockets once its flood ended", len(again))
	} else {
		for _, c := range again {
			c.CloseNow()
		}
	}
	fams := scrape(t, srv)
	if n := labelled(fams, metrics.NameConnRefused, "reason", "per_address"); n < float64(200-perAddress) {
		t.Errorf("%s{reason=per_address} = %v, want at least %d", metrics.NameConnRefused, n, 200-perAddress)
	}
	if n := value(t, fams, metrics.NameJoinTimeouts); n < float64(len(held)) {
		t.Errorf("%s = %v, want at least %d", metrics.NameJoinTimeouts, n, len(held))
	}
	a.Close()
	b.Close()
	srv.Close()
	servertest.NoLeak(t, before)
}

// TestConnectionsTotal: over the total bound nobody gets in, whatever the
// address; once the idle sockets time out, a legitimate call joins.
func TestConnectionsTotal(t *testing.T) {
	srv := startServer(t, server.Config{MetricsListen: "127.0.0.1:0", Limits: server.Limits{
		JoinTimeout: floodJoinTimeout, MaxConnsPerAddress: 10, MaxConns: 30}})
	var held []*websocket.Conn
	for i := range 5 {
		held = append(held, flood(t, srv, fmt.Sprintf("127.0.0.%d", 10+i), 10)...)
	}
	if len(held) != 30 {
		t.Fatalf("%d sockets held, bound 30", len(held))
	}
	if c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://")); err == nil {
		c.SetReadDeadline(time.Now().Add(patience))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("a connection over the total bound was served")
		}
		c.Close()
	}
	for _, c := range held {
		idleClosed(c)
	}
	a := join(t, srv, "after", "alice", nil)
	b := join(t, srv, "after", "bob", nil)
	servertest.Eventually(t, "media once the flood timed out", flowing(a, "alice", []string{"bob"}, []string{protocol.KindAudio}, 10))
	_ = b
	if n := labelled(scrape(t, srv), metrics.NameConnRefused, "reason", "total"); n < 1 {
		t.Errorf("%s{reason=total} = %v, want at least 1", metrics.NameConnRefused, n)
	}
}

// tcpConn opens a TCP connection to srv.
func tcpConn(t *testing.T, srv *servertest.Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// cut waits until the server closes c (a read ends), and fails if it does
// not within patience.
func cut(t *testing.T, what string, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("%s: still open after %v", what, patience)
	}
}

// TestHTTPTimeouts: a body sent slower than the read timeout and a
// keep-alive connection idle past the idle timeout are cut; a request in
// time is answered.
func TestHTTPTimeouts(t *testing.T) {
	srv := startServer(t, server.Config{Limits: server.Limits{ReadTimeout: time.Second, IdleTimeout: time.Second}})
	host := strings.TrimPrefix(srv.URL(), "http://")

	slow := tcpConn(t, srv)
	fmt.Fprintf(slow, "POST /api/requests HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"line\":", host)
	cut(t, "a slow body", slow)

	idle := tcpConn(t, srv)
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	res, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("a request in time: %v %v", res, err)
	}
	res.Body.Close()
	cut(t, "an idle keep-alive connection", idle)

	silent := tcpConn(t, srv) // not even a request line
	cut(t, "a connection that sends nothing", silent)
}

// TestHostHeader: DNS rebinding fails: a request naming a host the server
// does not answer to gets 421, the WebSocket included (whose origin check
// alone passes, origin and host being the attacker's name); the server's
// own names and IP addresses are served, and --host adds names.
func TestHostHeader(t *testing.T) {
	srv := startServer(t, server.Config{Hosts: []string{"line.example", "*.hotline.example"}})
	get := func(path, host, origin string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL()+path, nil)
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL(), "http://"))
	for _, c := range []struct {
		path, host, origin string
		want               int
	}{
		{"/", "rebind.attacker.example:" + port, "", http.StatusMisdirectedRequest},
		{"/ws", "rebind.attacker.example:" + port, "http://rebind.attacker.example:" + port, http.StatusMisdirectedRequest},
		{"/api/lines/demo", "rebind.attacker.example", "", http.StatusMisdirectedRequest},
		{"/", "a.b.hotline.example", "", http.StatusMisdirectedRequest},
		{"/", "127.0.0.1:" + port, "", http.StatusOK},
		{"/", "[::1]:" + port, "", http.StatusOK},
		{"/", "line.example:" + port, "", http.StatusOK},
		{"/", "LINE.example.", "", http.StatusOK},
		{"/", "east.hotline.example", "", http.StatusOK},
		{"/ws", "127.0.0.1:" + port, "http://127.0.0.1:" + port, http.StatusSwitchingProtocols},
	} {
		if got := get(c.path, c.host, c.origin); got != c.want {
			t.Errorf("GET %s with Host %s: %d, want %d", c.path, c.host, got, c.want)
		}
	}
	// By default: localhost, and the address.
	def := startServer(t, server.Config{})
	for host, want := range map[string]int{"localhost": http.StatusOK, "rebind.attacker.example": http.StatusMisdirectedRequest} {
		req, _ := http.NewRequest("GET", def.URL()+"/healthz", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("default server, Host %s: %d, want %d", host, res.StatusCode, want)
		}
	}
}

// BenchmarkIdleFlood measures what a flood of idle sockets from one address
// holds, without bounds (as before issue 10) and with the default ones:
// sockets held, goroutines and heap in the (server and flood) process, and
// how long a legitimate call's two joins take meanwhile.
//
//	scripts/test.sh -run - -bench IdleFlood -benchtime 1x ./internal/server/
func BenchmarkIdleFlood(b *testing.B) {
	const n = 2000
	for _, bc := range []struct {
		name   string
		limits server.Limits
	}{
		{"unbounded", server.Limits{JoinTimeout: time.Hour, MaxConns: -1, MaxConnsPerAddress: -1}},
		{"defaults", server.Limits{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				srv := servertest.Start(b, server.Config{Limits: bc.limits}, nil)
				held := flood(b, srv, "127.0.0.2", n)
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				start := time.Now()
				for _, name := range []string{"alice", "bob"} {
					c, err := client.Join(b.Context(), client.Config{Server: srv.URL(), Line: demo.Line, Call: "flooded",
						Device: srv.Device(b, demo.East, name), Publish: true, Logger: servertest.Logger()})
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "join-ms")
				b.ReportMetric(float64(len(held)), "held")
				b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
				b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
				for _, c := range held {
					c.CloseNow()
				}
				srv.Close()
			}
		})
	}
}
