package tier_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"hotline/internal/tier"
)

// The tiers are checked in child processes of this test binary, run with
// and without -short and CI, since testing.Short is fixed per process.
const childEnv = "HOTLINE_TIER_CHILD"

func TestTierChild(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "integration":
		tier.Integration(t)
	case "browser":
		tier.Browser(t)
	default:
		return // run directly: nothing to do
	}
	t.Log("tier ran")
}

func TestTiers(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tier  string
		short bool
		ci    string
		want  string // in the output
		fails bool
	}{
		{"integration", false, "", "tier ran", false},
		{"integration", true, "", "integration tier (real servers with Pion peers, network namespaces): skipped by -short", false},
		{"integration", true, "true", "run with -short under CI=true", true},
		{"integration", false, "true", "tier ran", false},
		{"browser", true, "", "browser tier (headless Chromium against the real page): skipped by -short", false},
		{"browser", true, "true", "run with -short under CI=true", true},
		{"browser", false, "", "tier ran", false},
	} {
		args := []string{"-test.run=^TestTierChild$", "-test.v", "-test.count=1"}
		if c.short {
			args = append(args, "-test.short")
		}
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), childEnv+"="+c.tier, "CI="+c.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.fails || !strings.Contains(string(out), c.want) {
			t.Errorf("%s, short=%v, CI=%q: err %v, want failure %v and %q in:\n%s", c.tier, c.short, c.ci, err, c.fails, c.want, out)
		}
	}
}
