//go:build race

package sendbatch

// The race detector's sync.Pool drops items at random, so allocations
// through x/net's pooled buffers are not counted under it.
const raceEnabled = true
