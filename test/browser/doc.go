// Package browser drives the real web client (internal/web) in Debian
// Chromium against an in-process hotline server. It holds tests only; see
// BROWSER_TESTS.md in the shared notes for the launch flags and why each is
// needed.
//
// Run inside a network namespace that has only loopback, so that no WebRTC
// or other traffic can leave the machine:
//
//	unshare --net sh -c 'ip link set lo up && GOPROXY=off go test ./test/browser/'
package browser
