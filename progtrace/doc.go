// Package progtrace records the socket calls of programs seqd did not
// write (a student's compiled client and server) as a live trace session.
// It runs them under ptrace, stopped by a seccomp filter only at the calls
// that matter (as strace --seccomp-bpf does), reads each call's arguments,
// bytes and result from the stopped program, and records it in causal
// order: a call that emits (write, shutdown, close, connect) where it was
// entered, a call that takes in (read, accept) where it returned.
//
// It records into package trace and knows nothing of HTTP; cmd/seqd's
// trace command wires it to the web app.
package progtrace
