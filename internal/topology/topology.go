// Package topology builds small multi-site networks for tests: network
// namespaces ("sites") joined to the test's own namespace by veth pairs,
// with private addresses inside them, and faults on those links (UDP
// blocked, random loss, a changed address) made with nftables, since the
// kernel here has no netem (../shared/ENVIRONMENT.md).
//
// The test process itself is the client side: a browser or a native
// endpoint started by the test reaches a site at Site.Addr through the link,
// and a server runs inside the site as a child process (Site.Command). Only
// namespaces that the test made are ever addressed.
//
// Safety: New refuses to run unless the test's namespace is isolated (it has
// no interface but loopback and links this package made), which is what
// scripts/test.sh provides with `unshare --net`. A missing part (root, ip,
// nft) fails the test; nothing is skipped.
package topology

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"hotline/internal/tier"
)

// linkPrefix names the test-side end of every link this package makes.
const linkPrefix = "hl"

// nsPrefix names every namespace this package makes: hl-<pid>-<n>-<name>.
const nsPrefix = "hl-"

// Topology is the set of sites one test made. Its clean-up (registered with
// t.Cleanup) deletes them all.
type Topology struct {
	t     testing.TB
	mu    sync.Mutex
	sites []*Site
}

// Site is a network namespace joined to the test's namespace by one veth
// link: the site end has Addr, the test end has Peer, both in 10.77.N.0/24.
type Site struct {
	Name string     // the namespace's name (for `ip netns exec`)
	Addr netip.Addr // the site's address on the link (10.77.N.1)
	Peer netip.Addr // the test namespace's address on the link (10.77.N.2 at first)
	Link string     // the link's interface name on the test side

	n     int    // the subnet's third octet
	table string // nftables table of this link's faults, in the test namespace
	tp    *Topology
	hosts int // last host number given to Peer
}

// New checks that the test may build sites here and returns an empty
// topology. It fails the test when not root, when ip or nft is missing, or
// when the current namespace is not isolated. Sites are the integration
// tier: `go test -short` skips the test here (internal/tier).
func New(t testing.TB) *Topology {
	t.Helper()
	tier.Integration(t)
	if os.Geteuid() != 0 {
		t.Fatal("topology: needs root (scripts/test.sh runs the suite as root in its own namespace)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("topology: %s is missing (scripts/test.sh installs iproute2 and nftables): %v", tool, err)
		}
	}
	if err := checkIsolated(); err != nil {
		t.Fatalf("topology: %v; run the test through scripts/test.sh, which gives it a loopback-only namespace", err)
	}
	removeStale()
	tp := &Topology{t: t}
	t.Cleanup(tp.close)
	return tp
}

// checkIsolated: the namespace has only loopback and this package's links.
func checkIsolated() error {
	// net.Interfaces asks the kernel over netlink, which answers for this
	// namespace; /sys/class/net would show the namespace sysfs was mounted in.
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	for _, i := range ifs {
		n := i.Name
		if n == "lo" || strings.HasPrefix(n, linkPrefix) {
			continue
		}
		return fmt.Errorf("this network namespace has interface %q besides loopback", n)
	}
	return nil
}

// AddSite makes a namespace joined to this one by a new link, with
// loopback up and IPv6 off on the link (no link-local candidates).
func (tp *Topology) AddSite(name string) *Site {
	tp.t.Helper()
	unlock := lockAllocation(tp.t)
	defer unlock()
	n, err := freeSubnet()
	if err != nil {
		tp.t.Fatalf("topology: %v", err)
	}
	s := &Site{
		Name:  fmt.Sprintf("%s%d-%d-%s", nsPrefix, os.Getpid(), n, name),
		Addr:  netip.AddrFrom4([4]byte{10, 77, byte(n), 1}),
		Peer:  netip.AddrFrom4([4]byte{10, 77, byte(n), 2}),
		Link:  fmt.Sprintf("%s%d", linkPrefix, n),
		n:     n,
		table: fmt.Sprintf("hotline_topology_%d", n),
		tp:    tp,
		hosts: 2,
	}
	tp.mu.Lock()
	tp.sites = append(tp.sites, s)
	tp.mu.Unlock()
	inner := s.Link + "s"
	steps := [][]string{
		{"ip", "netns", "add", s.Name},
		{"ip", "link", "add", s.Link, "type", "veth", "peer", "name", inner},
		{"ip", "link", "set", inner, "netns", s.Name},
		{"sysctl", "-qw", "net.ipv6.conf." + s.Link + ".disable_ipv6=1"},
		// MovePeer deletes the first address after adding the next one;
		// without this Linux deletes the next one with it.
		{"sysctl", "-qw", "net.ipv4.conf." + s.Link + ".promote_secondaries=1"},
		{"ip", "addr", "add", s.Peer.String() + "/24", "dev", s.Link},
		{"ip", "link", "set", s.Link, "up"},
		{"ip", "netns", "exec", s.Name, "sysctl", "-qw", "net.ipv6.conf." + inner + ".disable_ipv6=1"},
		{"ip", "-n", s.Name, "link", "set", "lo", "up"},
		{"ip", "-n", s.Name, "addr", "add", s.Addr.String() + "/24", "dev", inner},
		{"ip", "-n", s.Name, "link", "set", inner, "up"},
	}
	for _, st := range steps {
		if err := run(st...); err != nil {
			tp.t.Fatalf("topology: site %s: %v", name, err)
		}
	}
	return s
}

// Command runs a program inside the site's namespace. The returned process
// is the program itself (`ip netns exec` execs it), so killing it kills the
// program.
func (s *Site) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", s.Name, name}, args...)...)
}

// BlockUDP drops every UDP packet on the link, both ways (a network that
// allows only TCP).
func (s *Site) BlockUDP(t testing.TB) {
	t.Helper()
	s.fault(t, "meta l4proto udp drop")
}

// Loss drops pct percent of UDP packets at random on the link, each way.
func (s *Site) Loss(t testing.TB, pct int) {
	t.Helper()
	if pct < 0 || pct > 100 {
		t.Fatalf("topology: loss %d%% out of range", pct)
	}
	s.fault(t, "meta l4proto udp numgen random mod 100 < "+strconv.Itoa(pct)+" drop")
}

// ClearFaults removes the link's faults.
func (s *Site) ClearFaults(t testing.TB) {
	t.Helper()
	if err := run("nft", "delete", "table", "inet", s.table); err != nil && !strings.Contains(err.Error(), "No such file") {
		t.Fatalf("topology: clear faults: %v", err)
	}
}

// fault installs rule on the link in both directions, replacing earlier
// faults. The rules live in the test's namespace, on the test end of the link.
func (s *Site) fault(t testing.TB, rule string) {
	t.Helper()
	s.ClearFaults(t)
	script := fmt.Sprintf(`table inet %[1]s {
	chain out { type filter hook output priority 0; policy accept; oifname "%[2]s" %[3]s; }
	chain in { type filter hook input priority 0; policy accept; iifname "%[2]s" %[3]s; }
}
`, s.table, s.Link, rule)
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("topology: nft: %v: %s", err, bytes.TrimSpace(out))
	}
}

// MovePeer gives the test end of the link a new address and removes the old
// one, as when a laptop changes networks: sockets bound to the old address
// stop working. It returns the new address (also in s.Peer).
func (s *Site) MovePeer(t testing.TB) netip.Addr {
	t.Helper()
	if s.hosts >= 254 {
		t.Fatal("topology: no address left on the link")
	}
	s.hosts++
	old := s.Peer
	next := netip.AddrFrom4([4]byte{10, 77, byte(s.n), byte(s.hosts)})
	if err := run("ip", "addr", "add", next.String()+"/24", "dev", s.Link); err != nil {
		t.Fatalf("topology: move: %v", err)
	}
	if err := run("ip", "addr", "del", old.String()+"/24", "dev", s.Link); err != nil {
		t.Fatalf("topology: move: %v", err)
	}
	s.Peer = next
	return next
}

// close deletes every site: its processes are killed, its namespace
// deleted (which removes the link), its fault table removed.
func (tp *Topology) close() {
	tp.mu.Lock()
	sites := tp.sites
	tp.sites = nil
	tp.mu.Unlock()
	for _, s := range sites {
		_ = run("nft", "delete", "table", "inet", s.table)
		deleteNamespace(s.Name)
		_ = run("ip", "link", "del", s.Link) // gone with the namespace already, normally
	}
}

// deleteNamespace kills what runs inside a namespace, then deletes it.
func deleteNamespace(name string) {
	if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_ = run("ip", "netns", "del", name)
}

// removeStale deletes namespaces left by test processes that died before
// their clean-up ran (a timeout panic, a kill).
func removeStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || processAlive(pid) {
			continue
		}
		deleteNamespace(e.Name())
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// lockAllocation serialises subnet allocation among the test processes
// that share this namespace (go test runs packages in parallel).
func lockAllocation(t testing.TB) func() {
	t.Helper()
	path := filepath.Join(os.TempDir(), "hotline-topology.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("topology: lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("topology: lock: %v", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// freeSubnet picks N such that no interface here is named hlN, so
// 10.77.N.0/24 is free in this namespace.
func freeSubnet() (int, error) {
	for n := 1; n < 255; n++ {
		if _, err := net.InterfaceByName(linkPrefix + strconv.Itoa(n)); err != nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("no free subnet in 10.77.0.0/16")
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
