//go:build e2eebypass

package web

// bypassBuild: this binary was built with -tags e2eebypass, for measurement
// only (docs/PERFORMANCE.md, "E2EE bypass"). static/e2ee/build.js is served
// with BYPASS_BUILD = true, so a call page opened with ?e2ee=bypass has its
// media worker pass frames through unencrypted. Never ship such a binary.
const bypassBuild = true
