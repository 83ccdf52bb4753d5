package resilience

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// loopbackOnly fails the test unless it runs in a network namespace whose
// only interface is loopback (scripts/test.sh makes one): this test adds
// addresses and firewall rules, which must never touch a real machine.
func loopbackOnly(t *testing.T) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			t.Fatalf("interface %s exists: run this test inside its own network namespace (scripts/test.sh)", i.Name)
		}
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (apt-get install -y iproute2 nftables): %v", tool, err)
		}
	}
}

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
	loopbackOnly(t)
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

	// The address in use stops carrying UDP both ways; signalling (TCP)
	// is untouched.
	run(t, "nft", "add", "table", "inet", "roam")
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "inet", "roam").Run() })
	run(t, "nft", "add", "chain", "inet", "roam", "out", "{ type filter hook output priority 0; }")
	run(t, "nft", "add", "rule", "inet", "roam", "out", "ip", "saddr", host, "meta", "l4proto", "udp", "drop")
	run(t, "nft", "add", "rule", "inet", "roam", "out", "ip", "daddr", host, "meta", "l4proto", "udp", "drop")
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
