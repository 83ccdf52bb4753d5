// Package model holds the Promela models of hotline's membership and key
// protocol (hotline.pml), of the press cut (press.pml) and of the join
// (join.pml), and the tests that have SPIN check them exhaustively and
// check that their deliberately broken variants fail. docs/MODEL.md
// explains the abstraction and maps each step to the Go and JS code.
package model
