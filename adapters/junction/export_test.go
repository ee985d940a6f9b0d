package junction

// Limits that the external tests (package junction_test) check against.
const (
	MaxRetryAfter = maxRetryAfter
	MaxBody       = maxBody
)
