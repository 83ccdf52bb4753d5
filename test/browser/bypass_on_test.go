//go:build e2eebypass

package browser

import "testing"

// TestE2EEBypassBuild (run with -tags e2eebypass): in a bypass build, call
// pages opened with ?e2ee=bypass pass every frame through the worker
// without SFrame, and still see each other.
func TestE2EEBypassBuild(t *testing.T) {
	for i, f := range bypassCall(t) {
		if !f.Bypass || f.Bypassed == 0 {
			t.Errorf("browser %d: bypass %v, %d frames passed through", i, f.Bypass, f.Bypassed)
		}
	}
}
