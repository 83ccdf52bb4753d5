package main

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hotline/internal/server"
	"hotline/internal/servertest"
	"hotline/internal/tier"
)

// Bad bench flags are refused with a clear error before a server starts or
// anything is written: no temporary data folder, nothing on stdout.
func TestBenchBadInput(t *testing.T) {
	// The data folder that --data names: nothing may create it either.
	data := filepath.Join(t.TempDir(), "data")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the bench would make its server's data folder
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--calls", "0"}, "0 calls, between 1 and 1000"},
		{[]string{"--calls", "1001"}, "between 1 and 1000"},
		{[]string{"--calls", "x"}, "invalid value"},
		{[]string{"--participants", "1"}, "1 participants per call, between 2 and 16"},
		{[]string{"--participants", "17"}, "between 2 and 16"},
		{[]string{"--duration", "500ms"}, "duration 500ms, between 1s and 1h0m0s"},
		{[]string{"--duration", "-1s"}, "between 1s"},
		{[]string{"--duration", "soon"}, "invalid value"},
		{[]string{"--e2ee", "--calls", "0"}, "0 calls, between 1 and 1000"},
		{[]string{"--step", "2"}, "--step only applies with --ramp"},
		{[]string{"--max-calls", "9"}, "--max-calls only applies with --ramp"},
		{[]string{"--max-loss", "0.1"}, "--max-loss only applies with --ramp"},
		{[]string{"--max-p99", "2ms"}, "--max-p99 only applies with --ramp"},
		{[]string{"--ramp", "--step", "0"}, "ramp step of 0 calls"},
		{[]string{"--ramp", "--calls", "5", "--max-calls", "4"}, "at most 4 calls"},
		{[]string{"--ramp", "--max-loss", "1.5"}, "loss bound 1.5"},
		{[]string{"--ramp", "--max-loss", "NaN"}, "loss bound NaN"},
		{[]string{"--ramp", "--max-p99", "0s"}, "residence p99 bound 0s"},
		{[]string{"--server", ""}, "--server is empty"},
		{[]string{"--server", "ftp://127.0.0.1:1", "--metrics", "http://127.0.0.1:2", "--data", data}, "scheme must be http or https"},
		{[]string{"--server", "http://192.0.2.7:8080", "--metrics", "http://127.0.0.1:2", "--data", data}, "servers on this machine only"},
		{[]string{"--server", "http://example.org", "--metrics", "http://127.0.0.1:2", "--data", data}, "servers on this machine only"},
		{[]string{"--server", "http://127.0.0.1:1"}, "--server and --data go together"},
		{[]string{"--data", data}, "--server and --data go together"},
		{[]string{"--server", "http://127.0.0.1:1", "--data", data}, "--server and --metrics go together"},
		{[]string{"--metrics", "http://127.0.0.1:2"}, "--server and --metrics go together"},
		{[]string{"--server", "http://127.0.0.1:1", "--metrics", "http://192.0.2.7:9464", "--data", data}, "servers on this machine only"},
		{[]string{"--nope"}, "flag provided but not defined"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		stdout, stderr, err := runCmd(append([]string{"bench"}, c.args...)...)
		if err == nil {
			t.Errorf("%v accepted", c.args)
			continue
		}
		if !strings.Contains(err.Error()+stderr, c.want) {
			t.Errorf("%v: error %q / %q, want %q", c.args, err, stderr, c.want)
		}
		if stdout != "" {
			t.Errorf("%v: wrote %q to stdout", c.args, stdout)
		}
		if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
			t.Fatalf("%v: left %s in the temporary folder", c.args, entries[0].Name())
		}
		if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v: created the --data folder", c.args)
		}
	}
	if _, _, err := runCmd("bench", "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
}

// A one-second bench against a server of this process, whose data folder
// holds the demo line the bench enrols its endpoints on: the table goes to
// stderr and stdout is the one JSON line. With --e2ee every frame is
// encrypted end to end and the JSON carries what SFrame costs.
func TestBenchJSONAgainstAServer(t *testing.T) {
	tier.Integration(t)
	dir := t.TempDir()
	srv := servertest.Start(t, server.Config{DataDir: dir, MetricsListen: "127.0.0.1:0"}, nil)
	for _, e2ee := range []bool{false, true} {
		name := "plain"
		args := []string{"bench", "--server", srv.URL(), "--metrics", srv.MetricsURL(), "--data", dir, "--participants", "2", "--duration", "1s", "--json"}
		if e2ee {
			name = "e2ee"
			args = append(args, "--e2ee")
		}
		t.Run(name, func(t *testing.T) {
			stdout, stderr, err := runCmd(args...)
			if err != nil {
				t.Fatalf("bench: %v\n%s", err, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			var obj map[string]any
			if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &obj) != nil {
				t.Fatalf("stdout is not one JSON line: %q", stdout)
			}
			if obj["calls"] != 1.0 || obj["participants"] != 2.0 || obj["streams"] != 2.0 || !(obj["forwarded_pps"].(float64) > 0) {
				t.Errorf("figures: %s", stdout)
			}
			if !strings.Contains(stderr, "fwd pkt/s") || !strings.Contains(stderr, "SRTP floor") {
				t.Errorf("no table on stderr:\n%s", stderr)
			}
			if obj["e2ee"] != e2ee {
				t.Errorf("e2ee = %v, want %v: %s", obj["e2ee"], e2ee, stdout)
			}
			sf, hasSFrame := obj["sframe"].(map[string]any)
			if !e2ee {
				if _, ok := obj["sframe"]; ok {
					t.Errorf("SFrame cost without --e2ee: %s", stdout)
				}
				return
			}
			if !hasSFrame {
				t.Fatalf("no SFrame cost with --e2ee: %s", stdout)
			}
			for _, k := range []string{"seal_us_per_frame", "open_us_per_frame"} {
				if v, _ := sf[k].(float64); !(v > 0) {
					t.Errorf("sframe.%s = %v, want > 0: %s", k, sf[k], stdout)
				}
			}
			if !strings.Contains(stderr, "end-to-end encryption (SFrame") {
				t.Errorf("no SFrame cost in the table:\n%s", stderr)
			}
		})
	}
}
