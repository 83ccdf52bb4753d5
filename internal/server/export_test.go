package server

// CheckTransport exposes the plain-HTTP rule to the tests, so that
// accepting an address is checked without binding it.
var CheckTransport = checkTransport
