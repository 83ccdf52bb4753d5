package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/internal/certs"
	"hotline/internal/demo"
	"hotline/internal/server"
	"hotline/internal/servertest"
)

// childArgs, when set in the environment, makes the test binary act as the
// hotline command with those arguments (JSON). A child process is how a
// test gives one command its own SSL_CERT_FILE: Go reads the system roots
// once per process.
const childArgs = "HOTLINE_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(childArgs); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad", childArgs, err)
			os.Exit(3)
		}
		// Interrupted, a command stops as it would in a terminal (main).
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err := run(ctx, args, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "hotline:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs `hotline ARGS...` in a child process with env added.
func runChild(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	raw, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childArgs+"="+string(raw)), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func TestCertInitCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	out, _, err := runCmd("cert", "init", "--host", "127.0.0.1,hotline.example", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(dir, certs.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := certs.ClientConfig(filepath.Join(dir, certs.CAFile))
	if err != nil || pair.RootCAs == nil {
		t.Fatalf("ca.pem unusable: %v", err)
	}
	caCert := parseFirstCert(t, ca)
	for _, want := range []string{certs.Fingerprint(caCert), "--tls-cert " + filepath.Join(dir, certs.CertFile),
		"--ca " + filepath.Join(dir, certs.CAFile), "SSL_CERT_FILE=", "import"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := runCmd("cert", "init", "--host", "127.0.0.1", "--out", dir); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second cert init: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"cert"}, "init"},
		{[]string{"cert", "renew"}, "init"},
		{[]string{"cert", "init", "--out", t.TempDir()}, "--host and --out are required"},
		{[]string{"cert", "init", "--host", "a.example"}, "--host and --out are required"},
		{[]string{"cert", "init", "--host", "*.example", "--out", t.TempDir()}, "not a host name"},
		{[]string{"cert", "init", "--host", "a.example", "--out", t.TempDir(), "extra"}, "unexpected argument"},
	} {
		if _, _, err := runCmd(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// Native commands reach an HTTPS server when they trust its CA through
// --ca or SSL_CERT_FILE, and say what to do when they do not.
func TestNativeCommandsOverTLS(t *testing.T) {
	tlsDir := filepath.Join(t.TempDir(), "tls")
	if _, _, err := runCmd("cert", "init", "--host", "127.0.0.1", "--out", tlsDir); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(tlsDir, certs.CAFile)
	srv := servertest.Start(t, server.Config{TLSCert: filepath.Join(tlsDir, certs.CertFile), TLSKey: filepath.Join(tlsDir, certs.KeyFile)}, nil)
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("server URL %s", srv.URL())
	}
	ann, ben := srv.DeviceFile(t, demo.East, "ann"), srv.DeviceFile(t, demo.West, "ben")
	list := []string{"call", "list", "--server", srv.URL(), "--line", demo.Line, "--device", ann}

	if _, _, err := runCmd(append(list, "--ca", caFile)...); err != nil {
		t.Errorf("call list --ca: %v", err)
	}
	if _, _, err := runCmd(list...); err == nil || !strings.Contains(err.Error(), "not trusted") || !strings.Contains(err.Error(), "--ca") {
		t.Errorf("call list without trust: %v", err)
	}
	if _, _, err := runCmd(append(list, "--ca", filepath.Join(tlsDir, certs.KeyFile))...); err == nil || !strings.Contains(err.Error(), "--ca") {
		t.Errorf("call list --ca KEYFILE: %v", err)
	}
	if _, stderr, err := runChild(t, []string{"SSL_CERT_FILE=" + caFile}, list...); err != nil {
		t.Errorf("call list with SSL_CERT_FILE: %v\n%s", err, stderr)
	}
	if _, stderr, err := runChild(t, []string{"SSL_CERT_FILE=" + filepath.Join(t.TempDir(), "none.pem")}, list...); err == nil || !strings.Contains(stderr, "not trusted") {
		t.Errorf("call list, SSL_CERT_FILE without the CA: %v\n%s", err, stderr)
	}

	// Two joins, one trusting through --ca, the other through
	// SSL_CERT_FILE in its own process: each decrypts the other's media.
	joinArgs := func(dev string) []string {
		return []string{"--server", srv.URL(), "--line", demo.Line, "--call", "tls", "--device", dev, "--stats"}
	}
	annRun := startJoin(t, nil, append(joinArgs(ann), "--ca", caFile)...)
	benRun := startJoin(t, []string{"SSL_CERT_FILE=" + caFile}, joinArgs(ben)...)
	annRun.waitDecrypting(t, "ann", "ben", "audio", "video")
	benRun.waitDecrypting(t, "ben", "ann", "audio", "video")
	checkReceived(t, "ann", "ben", annRun.stats(t, "ann"))
	checkReceived(t, "ben", "ann", benRun.stats(t, "ben"))
}

// checkReceived: the --stats line shows decrypted audio and video from other.
func checkReceived(t *testing.T, name, other string, s statsLine) {
	t.Helper()
	kinds := map[string]bool{}
	for _, tr := range s.Tracks {
		if tr.From == other && tr.Frames > 0 && tr.Decrypted > 0 {
			kinds[tr.Kind] = true
		}
	}
	if !kinds["audio"] || !kinds["video"] {
		t.Errorf("%s did not decrypt audio and video from %s: %+v", name, other, s)
	}
}

// hotline demo with a certificate prints only https:// links, among them
// an interpreter link per side.
func TestDemoPrintsHTTPSLinks(t *testing.T) {
	tlsDir := filepath.Join(t.TempDir(), "tls")
	if _, _, err := runCmd("cert", "init", "--host", "127.0.0.1", "--out", tlsDir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--udp-port", "0", "--data", t.TempDir(),
			"--tls-cert", filepath.Join(tlsDir, certs.CertFile), "--tls-key", filepath.Join(tlsDir, certs.KeyFile)}, pw, &errOut)
		pw.Close()
	}()
	var printed strings.Builder
	links := 0
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		printed.WriteString(line + "\n")
		if strings.Contains(line, "http://") {
			t.Errorf("plain link printed: %q", line)
		}
		if strings.Contains(line, "https://127.0.0.1:") {
			links++
		}
		if strings.Contains(line, "/schedule") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	if links < 3 {
		t.Fatalf("%d https links printed:\n%s", links, printed.String())
	}
	// An interpreter link per side (issue "Interpretation").
	for _, side := range []string{"east", "west"} {
		want := "/enrol?name=" + strings.ToUpper(side[:1]) + side[1:] + "+Interpreter&roles=interpreter&side=" + side + "&token="
		if !strings.Contains(printed.String(), want) {
			t.Errorf("no %s interpreter link (%s) printed:\n%s", side, want, printed.String())
		}
	}
}

func parseFirstCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no certificate in %q", data)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
