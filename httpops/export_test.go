package httpops

// Internals for the package's external tests.

// NewClientCapListener is the listener Serve wraps around its own to cap
// each client's connections.
var NewClientCapListener = newClientCapListener
