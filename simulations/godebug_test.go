//go:debug rsa1024min=0

package simulations

// The directive above lets this package's tests sign with the world's
// 512-bit key (see SigningKeyBits), as the vitalsync binary does.
