package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
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
