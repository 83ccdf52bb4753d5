//go:build !race

package sendbatch

const raceEnabled = false
