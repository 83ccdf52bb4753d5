package topology

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// fromSite runs a bash snippet inside the site (bash's /dev/tcp and /dev/udp
// make a client without any other tool).
func fromSite(t *testing.T, s *Site, script string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Command(ctx, "bash", "-c", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// tcpReaches: a TCP connection from the site to addr carries a line.
func tcpReaches(t *testing.T, s *Site, ln net.Listener) bool {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- ""
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		got <- line
	}()
	a := ln.Addr().(*net.TCPAddr)
	if err := fromSite(t, s, fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && echo hello >&3", a.IP, a.Port)); err != nil {
		return false
	}
	select {
	case l := <-got:
		return l == "hello\n"
	case <-time.After(10 * time.Second):
		return false
	}
}

// udpCount sends n datagrams from the site to pc and counts those that
// arrive before a short quiet period.
func udpCount(t *testing.T, s *Site, pc net.PacketConn, n int) int {
	t.Helper()
	a := pc.LocalAddr().(*net.UDPAddr)
	if err := fromSite(t, s, fmt.Sprintf("for i in $(seq %d); do echo x > /dev/udp/%s/%d; done", n, a.IP, a.Port)); err != nil {
		t.Fatalf("send from site: %v", err)
	}
	buf := make([]byte, 64)
	count := 0
	for {
		pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, _, err := pc.ReadFrom(buf); err != nil {
			return count
		}
		count++
	}
}

func TestSiteLinkAndFaults(t *testing.T) {
	tp := New(t)
	s := tp.AddSite("srv")
	if !s.Addr.Is4() || s.Addr.As4()[0] != 10 || s.Addr.As4()[1] != 77 {
		t.Fatalf("site address %v is not in 10.77.0.0/16", s.Addr)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(s.Peer.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(s.Peer.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()

	if !tcpReaches(t, s, ln) {
		t.Fatal("TCP from the site did not arrive")
	}
	if got := udpCount(t, s, pc, 20); got != 20 {
		t.Fatalf("UDP without faults: %d of 20 arrived", got)
	}

	s.BlockUDP(t)
	if got := udpCount(t, s, pc, 20); got != 0 {
		t.Fatalf("UDP blocked: %d of 20 arrived", got)
	}
	if !tcpReaches(t, s, ln) {
		t.Fatal("TCP must still pass with UDP blocked")
	}

	// 50 % each way on the link; one direction is measured here. With 400
	// datagrams, fewer than 120 or more than 280 arriving is a > 12 sigma event.
	s.Loss(t, 50)
	got := udpCount(t, s, pc, 400)
	t.Logf("50%% loss: %d of 400 arrived", got)
	if got < 120 || got > 280 {
		t.Fatalf("50%% loss: %d of 400 arrived", got)
	}

	s.ClearFaults(t)
	if got := udpCount(t, s, pc, 20); got != 20 {
		t.Fatalf("faults cleared: %d of 20 arrived", got)
	}
}

func TestMovePeer(t *testing.T) {
	tp := New(t)
	s := tp.AddSite("mv")
	old := s.Peer
	pcOld, err := net.ListenPacket("udp", net.JoinHostPort(old.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer pcOld.Close()

	next := s.MovePeer(t)
	if next == old || s.Peer != next {
		t.Fatalf("MovePeer: %v → %v (Peer %v)", old, next, s.Peer)
	}
	if got := udpCount(t, s, pcOld, 5); got != 0 {
		t.Fatalf("the old address still receives (%d)", got)
	}
	pcNew, err := net.ListenPacket("udp", net.JoinHostPort(next.String(), "0"))
	if err != nil {
		t.Fatalf("listen on the new address: %v", err)
	}
	defer pcNew.Close()
	if got := udpCount(t, s, pcNew, 5); got != 5 {
		t.Fatalf("the new address: %d of 5 arrived", got)
	}
}

func TestCleanupRemovesSites(t *testing.T) {
	var name, link string
	t.Run("make", func(t *testing.T) {
		s := New(t).AddSite("gone")
		name, link = s.Name, s.Link
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// A process left running inside the site is killed by the clean-up.
		if err := s.Command(ctx, "sleep", "600").Start(); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" {
		t.Fatal("the site was not made")
	}
	if _, err := os.Stat("/run/netns/" + name); !os.IsNotExist(err) {
		t.Fatalf("namespace %s still exists after clean-up (%v)", name, err)
	}
	if _, err := net.InterfaceByName(link); err == nil {
		t.Fatalf("link %s still exists after clean-up", link)
	}
}

func TestBinaryRuns(t *testing.T) {
	out, err := New(t).AddSite("bin").Command(context.Background(), Binary(t), "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hotline") {
		t.Fatalf("hotline version inside a site: %v: %s", err, out)
	}
}
