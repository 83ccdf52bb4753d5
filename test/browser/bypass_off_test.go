//go:build !e2eebypass

package browser

import "testing"

// TestE2EEBypassIgnoredByDefault: a call page opened with ?e2ee=bypass on
// a normal build (no -tags e2eebypass) still encrypts and decrypts every
// frame: the worker never turns bypass on and passes no frame through
// unencrypted, and the browsers decode each other only through SFrame.
func TestE2EEBypassIgnoredByDefault(t *testing.T) {
	for i, f := range bypassCall(t) {
		if f.Bypass || f.Bypassed != 0 {
			t.Errorf("browser %d: bypass %v, %d frames passed through without SFrame", i, f.Bypass, f.Bypassed)
		}
	}
}
