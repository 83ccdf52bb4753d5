package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"

	"hotline/internal/server"
)

// Bad bench flags are refused with a clear error before a server starts or
// anything is written: no temporary data folder, nothing on stdout.
func TestBenchBadInput(t *testing.T) {
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
		{[]string{"--e2ee"}, "end-to-end encryption is not implemented yet"},
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
		{[]string{"--server", "ftp://127.0.0.1:1"}, "scheme must be http or https"},
		{[]string{"--server", "http://192.0.2.7:8080"}, "servers on this machine only"},
		{[]string{"--server", "http://example.org"}, "servers on this machine only"},
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
	}
	if _, _, err := runCmd("bench", "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
}

// A one-second bench against a server of this process: the table goes to
// stderr and stdout is the one JSON line.
func TestBenchJSONAgainstAServer(t *testing.T) {
	srv, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	stdout, stderr, err := runCmd("bench", "--server", srv.URL(), "--participants", "2", "--duration", "1s", "--json")
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
}
