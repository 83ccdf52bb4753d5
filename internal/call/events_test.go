package call

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/internal/protocol"
	"hotline/internal/role"
)

// TestEmptyGrace: a call whose last member left stays open for the grace
// (a member coming back finds the same call, and the grace starts again
// when it leaves); only past the grace does it close, naming who left
// last. A registry closed for shutdown closes nothing.
func TestEmptyGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = time.Minute
		reg := NewRegistry(Config{EmptyGrace: grace})
		sub := reg.Subscribe()
		a := &member{id: "a", name: "A", side: "east", adm: Admission{Booking: "c-1"}}
		c, _ := join(reg, "l/c-1", a)
		c.Leave("a")
		time.Sleep(grace - time.Second)
		synctest.Wait()
		b := &member{id: "b", name: "B", side: "west"}
		cb, err := join(reg, "l/c-1", b)
		if err != nil || cb != c {
			t.Fatalf("a join within the grace: %v, same call %v", err, cb == c)
		}
		time.Sleep(2 * grace)
		synctest.Wait()
		if reg.CallCount() != 1 {
			t.Fatal("a call with a member in it closed")
		}
		cb.Leave("b")
		time.Sleep(grace - time.Second)
		synctest.Wait()
		if reg.CallCount() != 1 {
			t.Fatal("closed before the grace was over")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if reg.CallCount() != 0 {
			t.Fatal("not closed after the grace")
		}
		evs := drain(sub)
		if got, want := kinds(evs), "[opened joined:a>in left:a joined:b>in left:b closed]"; got != want {
			t.Fatalf("events %s, want %s", got, want)
		}
		last := evs[len(evs)-1]
		if last.Why != WhyEmpty || last.Member.Side != "west" || last.Booking != "c-1" {
			t.Fatalf("closed event %+v", last)
		}
		// A new call of that name opens anew.
		c2, _ := join(reg, "l/c-1", a)
		if c2 == c {
			t.Fatal("a closed call was reopened")
		}
		c2.Leave("a")
		reg.Close()
		time.Sleep(2 * grace)
		synctest.Wait()
		if got := kinds(drain(sub)); got != "[opened joined:a>in left:a]" {
			t.Fatalf("after shutdown: %s", got)
		}
	})
}

// TestEnd: End tells every member who ended the call and why, drops them,
// closes the call at once and refuses the name from then on; the events
// say each member left because the call ended, then that it closed.
func TestEnd(t *testing.T) {
	reg := NewRegistry(Config{})
	sub := reg.Subscribe()
	a := &member{id: "a", name: "A"}
	b := &member{id: "b", name: "B", roles: []role.Role{role.Adviser}}
	c, _ := join(reg, "x", a)
	join(reg, "x", b)
	tr := track("a.cam")
	c.Publish("a", protocol.TrackInfo{ID: "cam", Kind: "video"}, tr)
	if !reg.End("x", "East Operator", "the talks are over") {
		t.Fatal("End found no live call")
	}
	for _, m := range []*member{a, b} {
		if got := m.got(); got != "[ended-by:East Operator:the talks are over]" {
			t.Errorf("%s was told %s", m.name, got)
		}
	}
	select {
	case <-tr.Done():
	default:
		t.Error("the ended call's track is not closed")
	}
	if n := reg.CallCount(); n != 0 {
		t.Fatalf("%d calls after End", n)
	}
	evs := drain(sub)
	if got := kinds(evs); got != "[opened joined:a>in joined:b>waiting left:a left:b closed]" {
		t.Fatalf("events %s", got)
	}
	if ev := evs[len(evs)-1]; ev.Why != WhyEnded || ev.By != "East Operator" || ev.Reason != "the talks are over" {
		t.Fatalf("closed event %+v", ev)
	}
	if _, err := join(reg, "x", &member{id: "c", name: "C"}); !errors.Is(err, ErrEnded) {
		t.Fatalf("a join after End: %v", err)
	}
	c.Leave("a") // the ended member's session ends later: harmless
	if reg.End("y", "op", "") {
		t.Fatal("End found a call that never opened")
	}
	if _, err := join(reg, "y", &member{id: "d", name: "D"}); !errors.Is(err, ErrEnded) {
		t.Fatalf("a join after End of a call not yet open: %v", err)
	}
	if reg.Resume("x", Admission{}) {
		t.Fatal("an ended call was resumed")
	}
}

// TestResume: a call resumed after a restart is open and empty; a member
// coming back joins it; nobody coming back closes it after the grace.
func TestResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := NewRegistry(Config{EmptyGrace: time.Minute})
		sub := reg.Subscribe()
		if !reg.Resume("l/c-1", Admission{Kind: KindPhone, Booking: "c-1"}) || reg.Resume("l/c-1", Admission{}) {
			t.Fatal("resume twice")
		}
		if _, err := join(reg, "l/c-1", &member{id: "v", name: "V", adm: Admission{Kind: KindVideo}}); !errors.Is(err, ErrForbidden) {
			t.Fatalf("a video member in a resumed phone call: %v", err)
		}
		reg.Resume("l/c-2", Admission{Booking: "c-2"})
		c, err := join(reg, "l/c-2", &member{id: "a", name: "A"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := reg.Calls(); fmt.Sprint(got) != "[l/c-2]" {
			t.Fatalf("calls %v", got)
		}
		c.Leave("a")
		evs := drain(sub)
		if got := kinds(evs); got != "[opened opened joined:a>in closed left:a]" {
			t.Fatalf("events %s", got)
		}
		if evs[3].Call != "l/c-1" || evs[3].Booking != "c-1" {
			t.Fatalf("closed %+v", evs[3])
		}
	})
}

// TestSlowSubscriber: a subscriber that does not read never holds the
// call up; what its full queue could not take is counted in the next
// event it gets.
func TestSlowSubscriber(t *testing.T) {
	reg := NewRegistry(Config{Capacity: 2})
	slow := reg.Subscribe()
	fast := reg.Subscribe()
	for i := range 5 {
		if _, err := join(reg, "x", &member{id: fmt.Sprint(i), name: "M"}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if n := len(drain(fast)); n != 2 {
				t.Fatalf("fast subscriber read %d", n)
			}
		} else if n := len(drain(fast)); n != 1 {
			t.Fatalf("fast subscriber read %d", n)
		}
	}
	got := drain(slow)
	if len(got) != 2 || got[0].Missed != 0 || got[1].Missed != 0 {
		t.Fatalf("slow subscriber got %+v", got)
	}
	reg.End("x", "op", "")
	got = drain(slow)
	if len(got) != 2 || got[0].Missed != 4 || got[0].Kind != EventLeft {
		t.Fatalf("after reading: %d events, first %+v", len(got), got[0])
	}
	slow.Close()
	if _, err := slow.Next(context.Background()); !errors.Is(err, ErrUnsubscribed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestEventsInOrder: many members joining and leaving at once; every
// subscriber sees the events in one order (Seq rising), each member's
// joined before its left, and a subscriber may call into the registry
// while it reads (delivery holds no call's lock).
func TestEventsInOrder(t *testing.T) {
	reg := NewRegistry(Config{MaxMembers: 64})
	sub := reg.Subscribe()
	const n = 50
	read := make(chan []Event)
	go func() {
		var evs []Event
		for len(evs) < 1+2*n {
			ev, err := sub.Next(context.Background())
			if err != nil {
				break
			}
			reg.Participants() // takes every call's lock
			evs = append(evs, ev)
		}
		read <- evs
	}()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := &member{id: fmt.Sprint("m", i), name: "M"}
			c, err := join(reg, "x", m)
			if err != nil {
				t.Error(err)
				return
			}
			c.Leave(m.id)
		})
	}
	wg.Wait()
	evs := <-read
	joined := map[string]bool{}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has Seq %d", i, ev.Seq)
		}
		switch ev.Kind {
		case EventJoined:
			joined[ev.Member.ID] = true
		case EventLeft:
			if !joined[ev.Member.ID] {
				t.Fatalf("%s left before it joined", ev.Member.ID)
			}
		}
	}
	if len(joined) != n {
		t.Fatalf("%d joins seen", len(joined))
	}
}
