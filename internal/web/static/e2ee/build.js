// @ts-check
// What this build of the server allows the web client, decided when the
// binary is compiled (internal/web/bypass_on.go, bypass_off.go).
//
// BYPASS_BUILD: whether the media worker may pass frames through without
// SFrame, for A/B measurement of the encryption's cost (docs/PERFORMANCE.md,
// "E2EE bypass"). This file says false; only a binary built with
// `go build -tags e2eebypass` serves it saying true. A production binary has
// no flag, setting or message that changes it.
export const BYPASS_BUILD = false;
