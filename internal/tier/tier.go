// Package tier sorts hotline's tests into tiers (docs/ARCHITECTURE.md,
// "Tests"). The unit tier always runs. `go test -short` is the fast inner
// loop: it skips the integration tier (a real server with Pion peers
// exchanging media over loopback, or the network namespaces of
// internal/topology), the model tier (SPIN model checks, package model)
// and the browser tier (headless Chromium against the real page), each
// test with a message saying so. Without
// -short every tier runs; scripts/test.sh and CI run without it.
//
// In CI (CI=true) nothing may be skipped: a test of either tier run with
// -short there fails instead of skipping, so that a stray flag can never
// make CI pass on less than the whole suite.
package tier

import (
	"os"
	"testing"
)

// Integration marks t as an integration test: a real server and Pion
// peers, or network namespaces. Call it first.
func Integration(t testing.TB) {
	t.Helper()
	skipShort(t, "integration", "real servers with Pion peers, network namespaces")
}

// Model marks t as a model check: SPIN exploring a model's whole state
// space (package model), a minute of CPU. Call it first.
func Model(t testing.TB) {
	t.Helper()
	skipShort(t, "model", "SPIN model checks")
}

// Browser marks t as a browser test: headless Chromium against the real
// page. Call it first.
func Browser(t testing.TB) {
	t.Helper()
	skipShort(t, "browser", "headless Chromium against the real page")
}

func skipShort(t testing.TB, name, what string) {
	t.Helper()
	if !testing.Short() {
		return
	}
	if InCI() {
		t.Fatalf("%s tier (%s) run with -short under CI=true: CI runs every tier, nothing may skip", name, what)
	}
	t.Skipf("%s tier (%s): skipped by -short; run without -short (scripts/test.sh) for it", name, what)
}

// InCI reports whether the tests run in CI (the CI variable is "true", as
// CI services set it).
func InCI() bool { return os.Getenv("CI") == "true" }
