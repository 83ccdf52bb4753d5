// Package resilience holds tests of how a call survives its network and its
// server: reconnection after the server drops the signalling socket or
// restarts, ICE restart after an address goes away, recovery from loss.
// They start real servers and native endpoints (internal/client) over real
// Pion PeerConnections; run them inside a namespace of their own
// (scripts/test.sh), as some change addresses and firewall rules.
package resilience
