package client

// Test helpers shared with the external integration tests (package client_test).
var (
	CheckGoroutines = checkGoroutines
	TestLogger      = testLogger
)
