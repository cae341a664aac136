package procid

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
)

// Token returns this process's token: 16 lowercase hex characters (64
// random bits), the same on every call within the process and drawn afresh
// by every new process.
func Token() string { return token() }

var token = sync.OnceValue(func() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return hex.EncodeToString(b[:])
})
