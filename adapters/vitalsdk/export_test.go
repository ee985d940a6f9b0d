package vitalsdk

// Test hooks for the package's external tests.

// SetCrashAt sets c's test hook (Client.crashAt), called at named points
// before and after every persist and network call of a state change.
func SetCrashAt(c *Client, hook func(step string)) { c.crashAt = hook }

// WithCrashAt returns o with the test hook set, so that the Client also
// calls it for New's own writes.
func WithCrashAt(o Options, hook func(step string)) Options {
	o.crashAt = hook
	return o
}
