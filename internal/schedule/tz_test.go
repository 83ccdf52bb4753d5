package schedule

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTZDataEmbedded: this package's binary carries the tz database
// (zone.go embeds zoneinfo.zip). The zip stores each zone uncompressed
// under its name, so the name is followed at once by the zone file's magic
// (RFC 8536 §3.1, "TZif"); a binary without it has no such bytes. The
// Linux test in tz_linux_test.go shows the data is also what is used with
// the host's zone files hidden, TestZoneIgnoresHostData with them forged.
func TestTZDataEmbedded(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, zone := range []string{"Europe/Moscow", "America/New_York", "Europe/Berlin"} {
		if !bytes.Contains(b, []byte(zone+"TZif")) {
			t.Errorf("the test binary does not embed %s's zone data", zone)
		}
	}
}

// TestLoadZoneEmbedded: LoadZone knows the zones of the embedded database, with their rules, and
// refuses anything else with ErrZone and the name in the message.
func TestLoadZoneEmbedded(t *testing.T) {
	at := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	for zone, want := range map[string]int{
		"Europe/Moscow": 3 * 3600, "America/New_York": -4 * 3600, "Asia/Kolkata": 5*3600 + 1800, "UTC": 0,
	} {
		loc, err := LoadZone(zone)
		if err != nil {
			t.Errorf("%s: %v", zone, err)
			continue
		}
		if _, off := at.In(loc).Zone(); off != want || loc.String() != zone {
			t.Errorf("%s: offset %d on %s, want %d (location %q)", zone, off, at, want, loc)
		}
		if again, _ := LoadZone(zone); again != loc {
			t.Errorf("%s: a second load is another *Location (the cache missed)", zone)
		}
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "Europe/Atlantis", "", "Local", "../etc/passwd", "Europe/Moscow\x00", strings.Repeat("A", 65)} {
		loc, err := LoadZone(bad)
		if !errors.Is(err, ErrZone) || loc != nil {
			t.Errorf("LoadZone(%q) = %v, %v; want ErrZone", bad, loc, err)
			continue
		}
		if !strings.Contains(err.Error(), "unknown time zone") {
			t.Errorf("LoadZone(%q): unclear error %q", bad, err)
		}
	}
}

const zoneChildEnv = "HOTLINE_SCHEDULE_ZONE_CHILD"

// TestZoneIgnoresHostData: two sides whose hosts carry different zone data
// still agree, because LoadZone reads only the embedded database. A child
// of this test binary runs with ZONEINFO naming a folder where
// Europe/Moscow is UTC's data: time.LoadLocation takes that forgery (the
// control: the host's data is what it prefers), LoadZone still gives
// Moscow's +03:00; with ZONEINFO naming an empty folder, LoadZone loads
// every zone all the same.
func TestZoneIgnoresHostData(t *testing.T) {
	utc, err := embeddedZoneFile("UTC")
	if err != nil {
		t.Fatal(err)
	}
	forged := t.TempDir()
	if err := os.MkdirAll(filepath.Join(forged, "Europe"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(forged, "Europe", "Moscow"), utc, 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for mode, dir := range map[string]string{"forged": forged, "empty": t.TempDir(), "missing": filepath.Join(t.TempDir(), "none")} {
		cmd := exec.Command(exe, "-test.run=^TestZoneChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), zoneChildEnv+"="+mode, "ZONEINFO="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestZoneChild") || !strings.Contains(string(out), "zone child: "+mode) {
			t.Errorf("%s ZONEINFO: %v\n%s", mode, err, out)
		}
	}
}

// TestZoneChild is the child of TestZoneIgnoresHostData; run directly it
// does nothing (the usual helper-process pattern).
func TestZoneChild(t *testing.T) {
	mode := os.Getenv(zoneChildEnv)
	if mode == "" {
		return
	}
	at := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	if mode == "forged" {
		host, err := time.LoadLocation("Europe/Moscow")
		if err != nil {
			t.Fatalf("control: time.LoadLocation with the forged ZONEINFO: %v", err)
		}
		if _, off := at.In(host).Zone(); off != 0 {
			t.Fatalf("control: time.LoadLocation ignored the forged ZONEINFO (offset %d): the test proves nothing", off)
		}
	}
	for zone, want := range map[string]int{"Europe/Moscow": 3 * 3600, "America/New_York": -5 * 3600, "Europe/Berlin": 3600} {
		loc, err := LoadZone(zone)
		if err != nil {
			t.Fatalf("%s with %s ZONEINFO: %v", zone, mode, err)
		}
		if _, off := at.In(loc).Zone(); off != want {
			t.Errorf("%s with %s ZONEINFO: offset %d, want %d", zone, mode, off, want)
		}
	}
	if _, err := LoadZone("Europe/Atlantis"); !errors.Is(err, ErrZone) {
		t.Errorf("unknown zone with %s ZONEINFO: %v", mode, err)
	}
	t.Logf("zone child: %s", mode)
}

// embeddedZoneFile reads one TZif file out of the embedded zip.
func embeddedZoneFile(name string) ([]byte, error) {
	idx, err := zoneIndex()
	if err != nil {
		return nil, err
	}
	f := idx[name]
	if f == nil {
		return nil, os.ErrNotExist
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(rc)
	return b.Bytes(), err
}
