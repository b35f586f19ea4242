// Package netcore performs real TCP exchanges on loopback with the kernel's
// socket calls, through golang.org/x/sys/unix, and records every call into a
// trace.Session.
//
// The calls are the ones a network-programming lecture teaches: socket,
// setsockopt, bind, listen, accept4, connect, write, read, shutdown, close.
// Sockets are non-blocking and wrapped in *os.File so that a call that would
// block parks its goroutine in Go's runtime poller; every blocking step obeys
// its context's deadline. netcore never uses net.Dial or net.Listen for a
// traced socket. The scenarios only ever connect to listeners they created
// themselves on 127.0.0.1; the proxy connects only to the target its
// operator configured (ProxyConfig.Target, loopback unless
// AllowRemoteTarget), never to an address a request names.
//
// The scenarios (serviceclient, echo, http, stream, refused, reset,
// concurrent, backpressure) are small programs written with these calls.
// The lab port (Lab) and the proxy (Proxy) trace programs seqd does not
// run: each connection is a session in which seqd's own end is traced and
// the other end is inferred from it (infer.go).
package netcore
