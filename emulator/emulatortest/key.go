package emulatortest

import (
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"sync"

	"github.com/vitalsync/vitalsync/emulator"
)

// The keys are fixed test keys, committed on purpose: they sign nothing
// outside tests. Generating a 2048-bit RSA key takes tens to hundreds of
// milliseconds, and since Go 1.26 rsa.GenerateKey ignores its reader, so a
// seeded reader cannot make generation repeatable either.
var (
	//go:embed testdata/signing-key.pem
	signingKeyPEM []byte
	//go:embed testdata/other-key.pem
	otherKeyPEM []byte
)

var (
	signingKey = sync.OnceValue(func() *rsa.PrivateKey { return mustParseKey("signing-key.pem", signingKeyPEM) })
	otherKey   = sync.OnceValue(func() *rsa.PrivateKey { return mustParseKey("other-key.pem", otherKeyPEM) })
)

// SigningKey returns the fixed 2048-bit RSA key that [NewEmulator] and
// [NewStack] sign Sign-In Tokens with. Every call returns the same key;
// callers must not modify it.
func SigningKey() *rsa.PrivateKey { return signingKey() }

// OtherKey returns a second fixed 2048-bit RSA key, distinct from
// [SigningKey], for tests of a signature made with the wrong key. Every call
// returns the same key; callers must not modify it.
func OtherKey() *rsa.PrivateKey { return otherKey() }

// NewEmulator returns an emulator that signs with [SigningKey]. opts come
// after the key, so a [emulator.WithSigningKey] among them wins.
func NewEmulator(opts ...emulator.Option) *emulator.Emulator {
	return emulator.New(append([]emulator.Option{emulator.WithSigningKey(SigningKey())}, opts...)...)
}

// mustParseKey parses an embedded PKCS #8 RSA key; a bad file is a broken
// build of this package, so it panics.
func mustParseKey(name string, data []byte) *rsa.PrivateKey {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		panic(fmt.Sprintf("emulatortest: testdata/%s: no PRIVATE KEY block", name))
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		panic(fmt.Sprintf("emulatortest: testdata/%s: %v", name, err))
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() != emulator.KeyBits {
		panic(fmt.Sprintf("emulatortest: testdata/%s: not a %d-bit RSA key", name, emulator.KeyBits))
	}
	return rk
}
