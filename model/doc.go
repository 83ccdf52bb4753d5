// Package model holds the Promela model of hotline's membership and key
// protocol (hotline.pml) and the test that has SPIN check it exhaustively,
// and check that its deliberately broken variants fail. docs/MODEL.md
// explains the abstraction and maps each step to the Go and JS code.
package model
