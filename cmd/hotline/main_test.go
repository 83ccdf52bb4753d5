package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func TestVersion(t *testing.T) {
	out, _, err := runCmd("version")
	if err != nil || !strings.HasPrefix(out, "hotline ") {
		t.Fatalf("version: %q %v", out, err)
	}
}

func TestUnknownCommand(t *testing.T) {
	_, stderr, err := runCmd("explode")
	if err == nil || !strings.Contains(err.Error(), `unknown command "explode"`) || !strings.Contains(stderr, "usage:") {
		t.Fatalf("unknown command: %v / %s", err, stderr)
	}
	if _, _, err := runCmd(); err == nil {
		t.Fatal("no command accepted")
	}
}

// Bad serve flags are refused with a clear error before anything is written.
func TestServeBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--udp-port", "70000"}, "not a port number"},
		{[]string{"--udp-port", "x"}, "invalid value"},
		{[]string{"--max-participants", "1"}, "outside 2..20"},
		{[]string{"--max-participants", "21"}, "outside 2..20"},
		{[]string{"--listen", "nonsense"}, "listen address"},
		{[]string{"--listen", "example.org:8080"}, "must be an IP address"},
		{[]string{"--public-ip", "not-an-ip", "--listen", "127.0.0.1:0", "--udp-port", "0", "--tcp-port", "0"}, "not an IP address"},
		{[]string{"--tcp-port", "70000"}, "--tcp-port 70000 is not a port number"},
		{[]string{"--turn-port", "-1"}, "--turn-port -1 is not a port number"},
		{[]string{"--turn-port", "8443"}, "already --tcp-port or --udp-port"},
		{[]string{"--nope"}, "flag provided but not defined"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--pprof", "0.0.0.0:6060"}, "must be a loopback address"},
		{[]string{"--pprof", "nonsense"}, "--pprof"},
		{[]string{"--metrics-listen", "nonsense"}, "--metrics-listen"},
		{[]string{"--metrics-listen", "example.org:9464"}, "must be an IP address"},
		// Plain HTTP off loopback is refused before any socket opens.
		{[]string{"--listen", "10.77.0.1:8080"}, "--tls-cert FILE --tls-key FILE"},
		{[]string{"--listen", ":8080"}, "--insecure-http"},
		{[]string{"--tls-cert", "cert.pem"}, "go together"},
		{[]string{"--tls-cert", "no-cert.pem", "--tls-key", "no-key.pem"}, "no such file"},
		// The bounds (README, "Limits").
		{[]string{"--max-conns", "0"}, "-1 for no bound"},
		{[]string{"--max-conns-per-address", "-5"}, "-1 for no bound"},
		{[]string{"--join-timeout", "0s"}, "must be positive"},
		{[]string{"--empty-call-grace", "0s"}, "--empty-call-grace 0s must be positive"},
		{[]string{"--pending-ttl", "-1h"}, "must be positive"},
		{[]string{"--host", "evil.example/x", "--listen", "127.0.0.1:0", "--udp-port", "0"}, "not a host name"},
	}
	for _, c := range cases {
		args := append([]string{"serve", "--data", dir}, c.args...)
		_, stderr, err := runCmd(args...)
		if err == nil {
			t.Errorf("%v accepted", c.args)
			continue
		}
		if !strings.Contains(err.Error()+stderr, c.want) {
			t.Errorf("%v: error %q / %q, want %q", c.args, err, stderr, c.want)
		}
		if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
			t.Fatalf("%v: data folder created despite the error", c.args)
		}
	}
	// hotline demo refuses the same way, before provisioning anything.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "10.77.0.1:8080"}, "--tls-cert"},
		{[]string{"--listen", "127.0.0.1:0", "--tls-cert", "no-cert.pem", "--tls-key", "no-key.pem"}, "no such file"},
	} {
		_, _, err := runCmd(append([]string{"demo", "--data", dir}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("demo %v: %v, want %q", c.args, err, c.want)
		}
		if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) {
			t.Fatalf("demo %v: data folder created despite the error", c.args)
		}
	}
	if _, _, err := runCmd("serve", "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
}

// serve starts on the embedded defaults (with free ports) and stops cleanly
// when its context ends.
func TestServeStartsAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--udp-port", "0", "--tcp-port", "0", "--metrics-listen", "127.0.0.1:0", "--data", dir}, pw, &errOut)
		pw.Close()
	}()
	// The first line on stdout says the server is up.
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.Contains(line, "serving on http://127.0.0.1:") || !strings.Contains(line, "metrics on 127.0.0.1:") {
		t.Fatalf("serve printed %q (%v)", line, err)
	}
	go io.Copy(io.Discard, pr)
	if _, err := os.Stat(filepath.Join(dir, "hotline.db")); err != nil {
		t.Fatalf("database not created: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, errOut.String())
	}
}
