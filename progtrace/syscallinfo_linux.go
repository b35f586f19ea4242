package progtrace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// syscallInfo is the kernel's struct ptrace_syscall_info
// (PTRACE_GET_SYSCALL_INFO): the call's number and arguments at a seccomp
// or entry stop, its result at an exit stop, the same on every
// architecture (no register layouts to know).
type syscallInfo struct {
	Op    uint8
	_     uint8
	_     uint16
	Arch  uint32
	IP    uint64
	SP    uint64
	Nr    uint64 // entry and seccomp: the call; exit: the return value
	Args  [6]uint64
	Extra uint32
	_     uint32
}

// The ops of a syscallInfo.
const (
	opEntry   = 1
	opExit    = 2
	opSeccomp = 3
)

// getSyscallInfo reads the stopped tracee's syscallInfo.
func getSyscallInfo(tid int, info *syscallInfo) error {
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// exitValue is an exit stop's return value: the result, or -errno.
func (i *syscallInfo) exitValue() int64 { return int64(i.Nr) }
