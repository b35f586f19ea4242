package netcore

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrnoOf returns the C name ("ECONNREFUSED") and the text of the errno
// inside err, or two empty strings when err carries none. It is the one
// place errnos become names, for netcore and for progtrace.
func ErrnoOf(err error) (name, text string) {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return "", ""
	}
	name = unix.ErrnoName(errno)
	if name == "" {
		name = "errno " + errno.Error()
	}
	return name, errno.Error()
}

// tcpStates names the kernel's TCP states (include/net/tcp_states.h); x/sys
// exports them only as BPF_TCP_* constants.
var tcpStates = [...]string{
	1:  "ESTABLISHED",
	2:  "SYN_SENT",
	3:  "SYN_RECV",
	4:  "FIN_WAIT1",
	5:  "FIN_WAIT2",
	6:  "TIME_WAIT",
	7:  "CLOSE",
	8:  "CLOSE_WAIT",
	9:  "LAST_ACK",
	10: "LISTEN",
	11: "CLOSING",
	12: "NEW_SYN_RECV",
}

// TCPStateName names the TCP state s of a TCP_INFO ("ESTABLISHED"), or
// "UNKNOWN".
func TCPStateName(s uint8) string {
	if int(s) < len(tcpStates) && tcpStates[s] != "" {
		return tcpStates[s]
	}
	return "UNKNOWN"
}
