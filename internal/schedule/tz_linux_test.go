//go:build linux

package schedule

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const tzChildEnv = "HOTLINE_SCHEDULE_TZ_CHILD"

// hostZoneSources are the directories time.LoadLocation reads on Unix
// before it falls back to the embedded copy (time/zoneinfo_unix.go).
var hostZoneSources = []string{"/usr/share/zoneinfo", "/usr/share/lib/zoneinfo", "/usr/lib/locale/TZ", "/etc/zoneinfo"}

// TestEmbeddedTZData runs the time-zone cases in a child process of this
// test binary that cannot see the host's zone files: ZONEINFO and GOROOT
// point at empty directories and, since LoadLocation reads the system
// directories even then, the child lives in its own user and mount
// namespaces and mounts an empty tmpfs over each of them. Every conversion must still come out the
// same, which only the embedded tz database can give.
//
// Where the kernel refuses unprivileged user namespaces, the child runs with
// the empty ZONEINFO and GOROOT alone; the result is logged, and TestTZDataEmbedded
// still proves the data is in the binary.
func TestEmbeddedTZData(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(mode string, attr *syscall.SysProcAttr) (string, error) {
		cmd := exec.Command(exe, "-test.run=^TestTZChild$", "-test.v", "-test.count=1")
		// GOROOT too: LoadLocation's last resort is
		// $GOROOT/lib/time/zoneinfo.zip (the runtime reads the variable).
		cmd.Env = append(os.Environ(), tzChildEnv+"="+mode, "ZONEINFO="+t.TempDir(), "GOROOT="+t.TempDir())
		cmd.SysProcAttr = attr
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("hide", &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	})
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		// The process never started: no user namespaces here.
		t.Logf("cannot hide the host's zoneinfo (%v); running with empty ZONEINFO and GOROOT only", err)
		out, err = run("plain", nil)
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(out, "--- PASS: TestTZChild") {
			t.Fatalf("child did not run the cases:\n%s", out)
		}
		return
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{"host zoneinfo hidden", "--- PASS: TestTZChild", "--- PASS: TestTZChild/when/tomorrow_across_spring_forward", "--- PASS: TestTZChild/describe"} {
		if !strings.Contains(out, want) {
			t.Fatalf("child output lacks %q:\n%s", want, out)
		}
	}
}

// TestTZChild is the child of TestEmbeddedTZData; run directly, it does
// nothing (the usual helper-process pattern).
func TestTZChild(t *testing.T) {
	mode := os.Getenv(tzChildEnv)
	if mode == "" {
		return
	}
	if mode == "hide" {
		// Keep the mounts below inside this namespace.
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			t.Fatalf("make / private: %v", err)
		}
		for _, dir := range hostZoneSources {
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				continue
			}
			if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=64k"); err != nil {
				t.Fatalf("hide %s: %v", dir, err)
			}
		}
		for _, dir := range hostZoneSources {
			if _, err := os.Stat(dir + "/Europe/Moscow"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s/Europe/Moscow still visible: %v", dir, err)
			}
		}
		t.Log("host zoneinfo hidden")
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("GOROOT"), "lib", "time", "zoneinfo.zip")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("GOROOT's zoneinfo.zip still visible: %v", err)
	}
	t.Run("when", func(t *testing.T) {
		for _, c := range whenCases {
			t.Run(c.name, func(t *testing.T) { checkWhen(t, c) })
		}
	})
	t.Run("describe", func(t *testing.T) {
		for _, c := range describeCases {
			if got := Describe(utc(c.at), mustZone(t, c.zones[0]), mustZone(t, c.zones[1])); got != c.want {
				t.Errorf("Describe(%s) = %s, want %s", c.at, got, c.want)
			}
		}
	})
}
