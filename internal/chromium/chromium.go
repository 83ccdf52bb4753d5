// Package chromium starts Debian's headless Chromium for the browser tests
// (test/browser) and the browser benchmark (test/browserbench) with the
// launch flags of BROWSER_TESTS.md in the shared notes: headless as root,
// nothing reaching out to the network, fake camera and microphone granted
// without a prompt, and loopback ICE candidates (the only address in a
// loopback-only namespace). It is used by tests and tools only; the hotline
// binary never imports it.
package chromium

import (
	"fmt"
	"os"

	"github.com/chromedp/chromedp"
)

// Path is Debian's Chromium.
const Path = "/usr/bin/chromium"

// Check reports a missing Chromium with how to install it: a missing
// browser is a broken test machine, not a reason to skip.
func Check() error {
	if _, err := os.Stat(Path); err != nil {
		return fmt.Errorf("chromium not found at %s (install it with: apt-get update && apt-get install -y chromium): %w", Path, err)
	}
	return nil
}

// Options are the launch flags, with a fresh profile in userDataDir and a
// window of width×height. fakeDevices is the value of
// --use-fake-device-for-media-stream: true, or the fake capture factory's
// option string (e.g. "device-count=2"; Chromium's
// media/capture/video/fake_video_capture_device_factory.cc).
func Options(userDataDir string, width, height int, fakeDevices any) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.Headless,
		chromedp.NoSandbox,
		// Not chromedp.DisableGPU: that adds a SwiftShader flag.
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(userDataDir),
		chromedp.Flag("use-fake-device-for-media-stream", fakeDevices),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.WindowSize(width, height),
	}
}
