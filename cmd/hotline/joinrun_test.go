package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"hotline/internal/servertest"
)

// joinRun is one `hotline join` that runs until the test stops it, as an
// operator would with Ctrl-C: in this process, or in a child process with
// its own environment. A run is not given a duration: the test waits for
// what it needs to see (media decrypting, in the log), however slow the
// machine, and then stops it; the stats line is printed on the way out.
type joinRun struct {
	stdout bytes.Buffer // read once the run has ended
	stderr servertest.Buffer
	stop   func()
	done   chan error

	once sync.Once
	err  error
}

// startJoin starts `hotline join ARGS...`; env, when not nil, runs it in a
// child process with env added (a child has its own SSL_CERT_FILE).
func startJoin(t *testing.T, env []string, args ...string) *joinRun {
	t.Helper()
	r := &joinRun{done: make(chan error, 1)}
	args = append([]string{"join"}, args...)
	if env == nil {
		ctx, cancel := context.WithCancel(context.Background())
		r.stop = cancel
		go func() { r.done <- run(ctx, args, &r.stdout, &r.stderr) }()
	} else {
		raw, _ := json.Marshal(args)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(append(os.Environ(), childArgs+"="+string(raw)), env...)
		cmd.Stdout, cmd.Stderr = &r.stdout, &r.stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.stop = func() { _ = cmd.Process.Signal(os.Interrupt) }
		go func() { r.done <- cmd.Wait() }()
	}
	t.Cleanup(func() { r.finish() })
	return r
}

// finish stops the run (if it is still going) and waits for its end.
func (r *joinRun) finish() error {
	r.once.Do(func() {
		r.stop()
		r.err = <-r.done
	})
	return r.err
}

// waitDecrypting waits until the run has logged media of every kind in
// kinds decrypting from the member named from.
func (r *joinRun) waitDecrypting(t *testing.T, name, from string, kinds ...string) {
	t.Helper()
	servertest.Eventually(t, name+" decrypts "+from, func() (bool, string) {
		log := r.stderr.String()
		for _, k := range kinds {
			if !strings.Contains(log, "msg=decrypting from="+from+" kind="+k) {
				return false, "no " + k + " decrypted yet; log:\n" + log
			}
		}
		return true, ""
	})
}

// stats stops the run and returns its stats line (the last line of stdout).
func (r *joinRun) stats(t *testing.T, name string) statsLine {
	t.Helper()
	if err := r.finish(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, r.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(r.stdout.String()), "\n")
	var s statsLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("%s: last line %q: %v", name, lines[len(lines)-1], err)
	}
	return s
}
