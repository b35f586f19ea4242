package progtrace

import "golang.org/x/sys/unix"

// auditArch is the seccomp_data.arch of this build's system calls.
const auditArch = unix.AUDIT_ARCH_X86_64

// fdCalls are the calls besides close that may end a descriptor (its
// number then names another file): the tracer forgets what it knew of it.
var fdCalls = []uint32{unix.SYS_DUP2, unix.SYS_DUP3, unix.SYS_CLOSE_RANGE}

// sysDup2 is dup2's number (arm64 has only dup3).
const sysDup2 = unix.SYS_DUP2
