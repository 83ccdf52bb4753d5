//go:build !e2eebypass

package web

// bypassBuild is false in every binary built without the e2eebypass tag:
// static/e2ee/build.js is served as embedded (BYPASS_BUILD = false) and the
// media worker refuses to bypass SFrame.
const bypassBuild = false
