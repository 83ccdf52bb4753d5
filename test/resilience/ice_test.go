package resilience

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"hotline/internal/tier"
	"hotline/internal/topology"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// TestICERestartAfterAddressLoss: the endpoint's host has a second address;
// once media flows, UDP to and from the address in use stops working (as
// when a laptop leaves one network). The endpoint sees its connection go
// down, asks for an ICE restart (restart_ice), the server offers new ICE
// credentials, the agents find the path through the other address, and
// media resumes: the same session, the same participant id, the same keys,
// no rejoin.
func TestICERestartAfterAddressLoss(t *testing.T) {
	tier.Integration(t)
	topology.New(t) // only its checks: root, ip and nft, an isolated namespace
	run(t, "ip", "addr", "add", "127.0.0.5/8", "dev", "lo")
	t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", "127.0.0.5/8", "dev", "lo").Run() })

	// The server on an address of its own, so that cutting either of the
	// client's addresses leaves the server reachable.
	s := startSiteOn(t, "127.0.0.9:0")
	alice := s.attend("roaming", "Alice")
	bob := s.attend("roaming", "Bob")
	eventually(t, "Alice decrypts Bob", func() error { return decrypting(alice.Client(), "Bob", 20) })
	eventually(t, "Bob decrypts Alice", func() error { return decrypting(bob.Client(), "Alice", 20) })
	c := alice.Client()
	id := c.ID()
	local, _ := c.SelectedPair()
	host, _, err := net.SplitHostPort(local)
	if err != nil {
		t.Fatalf("selected pair %q: %v", local, err)
	}
	t.Logf("Alice's media leave from %s", local)

	// The address in use stops carrying media both ways; signalling (TCP)
	// is untouched. Only this server's media port is cut: other tests may
	// share the namespace's loopback.
	port := fmt.Sprint(s.srv.MediaAddr().(*net.UDPAddr).Port)
	table := fmt.Sprintf("roam%d", os.Getpid())
	run(t, "nft", "add", "table", "inet", table)
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "inet", table).Run() })
	run(t, "nft", "add", "chain", "inet", table, "out", "{ type filter hook output priority 0; }")
	run(t, "nft", "add", "rule", "inet", table, "out", "ip", "saddr", host, "udp", "dport", port, "drop")
	run(t, "nft", "add", "rule", "inet", table, "out", "ip", "daddr", host, "udp", "sport", port, "drop")
	cut := time.Now()
	before := videoDecrypted(c, "Bob")
	beforeB := videoDecrypted(bob.Client(), "Alice")

	eventually(t, "Alice decrypts Bob again over another path", func() error {
		if n := videoDecrypted(c, "Bob"); n < before+30 {
			return fmt.Errorf("%d video frames decrypted from Bob since the cut, restarts asked %d", n-before, c.ICERestarts())
		}
		if l, _ := c.SelectedPair(); l == local || l == "" {
			return fmt.Errorf("still on %q", l)
		}
		return nil
	})
	now, _ := c.SelectedPair()
	t.Logf("media resumed %v after the cut, now from %s, after %d ICE restart request(s)", time.Since(cut).Round(time.Millisecond), now, c.ICERestarts())
	if c.ICERestarts() == 0 {
		t.Error("no ICE restart was asked for")
	}
	if alice.Client() != c || c.ID() != id || alice.Joins() != 1 || bob.Joins() != 1 {
		t.Errorf("a rejoin happened (joins: Alice %d, Bob %d): an ICE restart should keep the session", alice.Joins(), bob.Joins())
	}
	eventually(t, "Bob decrypts Alice again", func() error {
		if n := videoDecrypted(bob.Client(), "Alice"); n < beforeB+30 {
			return fmt.Errorf("%d video frames decrypted from Alice since the cut", n-beforeB)
		}
		return nil
	})
}
