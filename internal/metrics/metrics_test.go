package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fakeSource struct{ p, c int }

func (f fakeSource) Participants() int { return f.p }
func (f fakeSource) CallCount() int    { return f.c }

func TestExposition(t *testing.T) {
	m := New(fakeSource{p: 3, c: 1})
	m.Received(1200)
	for i := 0; i < 4; i++ {
		m.Forwarded(1200, 30*time.Microsecond)
	}
	m.FirstMedia(120 * time.Millisecond)
	for _, step := range []string{"answer", "ice_connected", "dtls_connected", "first_key", "first_packet"} {
		m.JoinStep(step, 60*time.Millisecond)
	}
	m.Joined()
	m.Joined()
	m.Closed("empty")
	m.Closed("ended")
	m.Closed("ended")
	m.Missed(3)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		NameParticipants + " 3",
		NameCalls + " 1",
		NameReceivedPackets + " 1",
		NameReceivedBytes + " 1200",
		NameForwardedPackets + " 4",
		NameForwardedBytes + " 4800",
		NameResidence + `_bucket{le="3e-05"} 4`,
		NameResidence + `_bucket{le="2e-05"} 0`,
		NameResidence + "_count 4",
		NameJoin + `_bucket{le="0.15"} 1`,
		NameJoinStep + `_bucket{step="answer",le="0.075"} 1`,
		NameJoinStep + `_bucket{step="first_packet",le="0.05"} 0`,
		NameJoinStep + `_count{step="dtls_connected"} 1`,
		NameProcessCPU,
		NameJoins + " 2",
		NameCallsClosed + `{why="empty"} 1`,
		NameCallsClosed + `{why="ended"} 2`,
		NameEventsMissed + " 3",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func BenchmarkForwarded(b *testing.B) {
	m := New(fakeSource{})
	b.ReportAllocs()
	for b.Loop() {
		m.Forwarded(1200, 25*time.Microsecond)
	}
}
