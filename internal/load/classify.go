package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/loadbench/loadbench/results"
)

// classify collapses a transport error into a short, stable error class.
// The generator's own failures (no free ephemeral port, no file descriptor)
// are classed under results.GeneratorErrorPrefix and are never charged to
// the target; everything else is the target's (or the network's): timeout,
// connection refused/reset/closed, broken pipe, tls: ….
func classify(err error) string {
	var (
		ne        net.Error
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
	)
	switch {
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return results.ErrNoFreePort
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return results.ErrNoFileDescriptor
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled), errors.Is(err, errAborted):
		return "canceled"
	case errors.As(err, &unknownCA):
		return "tls: certificate signed by an unknown authority"
	case errors.As(err, &hostErr):
		return "tls: certificate not valid for the host"
	case errors.As(err, &certErr):
		return "tls: invalid certificate"
	case errors.As(err, &verifyErr):
		return "tls: certificate verification failed"
	case errors.As(err, &recordErr):
		return "tls: not a tls server"
	case errors.As(err, &alertErr):
		return alertErr.Error() // "tls: …"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// MaxErrorClasses bounds the distinct error classes a protocol keeps; past
// it new classes are counted under OtherErrorClass, so a target whose error
// messages carry ids cannot grow the results without bound.
const MaxErrorClasses = 64

// OtherErrorClass collects the failed chats of classes past MaxErrorClasses.
const OtherErrorClass = "other error classes"

// boundedClass returns reason when m already counts it or has room for it,
// else OtherErrorClass (keeping a generator reason the generator's).
func boundedClass(m map[string]int64, reason string) string {
	if _, ok := m[reason]; ok || len(m) < MaxErrorClasses {
		return reason
	}
	if results.IsGeneratorError(reason) {
		return results.GeneratorErrorPrefix + OtherErrorClass
	}
	return OtherErrorClass
}

// errorText turns a server's error message into an error class: at most
// 40 bytes, and every word that holds a digit (run ids, user ids, counts)
// replaced by "#", so the same error of different chats is one class.
func errorText(msg string) string {
	words := strings.Fields(msg)
	for i, w := range words {
		if strings.ContainsAny(w, "0123456789") {
			words[i] = "#"
		}
	}
	s := strings.Join(words, " ")
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}
