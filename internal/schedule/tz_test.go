package schedule

import (
	"bytes"
	"os"
	"testing"
)

// TestTZDataEmbedded: this package's binary carries the tz database
// (import _ "time/tzdata"). The embedded zip stores each zone uncompressed
// under its name, so the name is followed at once by the zone file's magic
// (RFC 8536 §3.1, "TZif"); a binary without time/tzdata has no such bytes.
// The Linux test in tz_linux_test.go shows the data is also what is used.
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
