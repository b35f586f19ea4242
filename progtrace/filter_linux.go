package progtrace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// HelperArg is the first argument that makes seqd the tracer's helper: a
// copy of seqd, started under ptrace, that installs the seccomp filter and
// then executes the traced program in its place (Go runs no code of its
// own between fork and exec). cmd/seqd's main hands such a command line to
// HelperMain.
const HelperArg = "__seqd-trace-exec"

// tracedCalls are the system calls the tracer stops at: every other call
// runs at full speed. Calls on files, pipes and terminals still stop at
// read, write and close; the tracer lets them go on at once.
var tracedCalls = []uint32{
	unix.SYS_SOCKET, unix.SYS_SETSOCKOPT, unix.SYS_BIND, unix.SYS_LISTEN,
	unix.SYS_ACCEPT, unix.SYS_ACCEPT4, unix.SYS_CONNECT,
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV,
	unix.SYS_SENDTO, unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG,
	unix.SYS_SHUTDOWN, unix.SYS_CLOSE,
	unix.SYS_RESTART_SYSCALL, // a traced call that a signal interrupted, entered again
}

// filter is the seccomp program: SECCOMP_RET_TRACE for tracedCalls and fdCalls,
// SECCOMP_RET_ALLOW for every other call (and for another architecture's
// calls, which the tracer would misread).
func filter() []unix.SockFilter {
	calls := append(slices.Clone(tracedCalls), fdCalls...)
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
	)
	n := len(calls)
	prog := []unix.SockFilter{
		{Code: ldAbs, K: 4}, // seccomp_data.arch
		{Code: jeq, Jt: 1, K: auditArch},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ldAbs, K: 0}, // seccomp_data.nr
	}
	for i, nr := range calls {
		// A match jumps over the calls left and the ALLOW to the TRACE.
		prog = append(prog, unix.SockFilter{Code: jeq, Jt: uint8(n - i), K: nr})
	}
	return append(prog,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_TRACE},
	)
}

// BecomeHelperIfAsked makes this process the tracer's helper when its
// arguments ask for it (os.Args[1] is HelperArg): it then never returns,
// becoming the traced program or saying why not, after name, and exiting
// 127 as a shell does for a program it cannot run. Otherwise it returns
// at once. Every program that lists itself as Options.Helper calls it
// first: seqd's main, and the test binaries that trace in process.
func BecomeHelperIfAsked(name string) {
	if len(os.Args) < 2 || os.Args[1] != HelperArg {
		return
	}
	err := HelperMain(os.Args[1:])
	fmt.Fprintln(os.Stderr, name+":", err)
	os.Exit(127)
}

// HelperMain is the helper's whole life: args are HelperArg, the
// program's resolved path and its argv. It installs the filter on this
// thread and executes the program; it returns only with the reason it
// could not.
func HelperMain(args []string) error {
	if len(args) < 3 || args[0] != HelperArg {
		return errors.New("progtrace helper: want " + HelperArg + " PATH ARGV0 [ARGS...]")
	}
	// The filter is the calling thread's; the exec must come from the same one.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	prog := filter()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0); err != nil {
		return fmt.Errorf("installing the seccomp filter: %w (seqd trace needs a kernel with seccomp filters)", err)
	}
	err := unix.Exec(args[1], args[2:], os.Environ())
	return fmt.Errorf("%s: %w", args[1], err)
}
