// Package netcore performs real TCP exchanges on loopback with the kernel's
// socket calls, through golang.org/x/sys/unix, and records every call into a
// trace.Session.
//
// The calls are the ones a network-programming lecture teaches: socket,
// setsockopt, bind, listen, accept4, connect, write, read, shutdown, close.
// Sockets are non-blocking and wrapped in *os.File so that a call that would
// block parks its goroutine in Go's runtime poller; every blocking step obeys
// its context's deadline. netcore never uses net.Dial or net.Listen for a
// traced socket, and only ever connects to listeners it created itself on
// 127.0.0.1.
//
// The scenarios (serviceclient, echo, http, stream, refused, reset,
// concurrent, backpressure) are small programs written with these calls.
package netcore
