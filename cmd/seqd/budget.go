package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"seqd/netcore"
	"seqd/web"
)

// defaultMemoryLimit is -memory-limit's default: half the machine's memory,
// or three quarters of the container's limit (cgroup v2 memory.max) when
// that is less, and 1 GiB when neither can be read. A server with no
// budget at all lets one visitor's legal requests take the machine; one
// with a budget refuses new work near it, and the runtime collects garbage
// to stay under it.
func defaultMemoryLimit() int64 {
	limit := int64(1 << 30)
	if total := memTotal("/proc/meminfo"); total > 0 {
		limit = total / 2
	}
	if cg := cgroupLimit("/sys/fs/cgroup/memory.max"); cg > 0 {
		limit = min(limit, cg/4*3)
	}
	return max(limit, 256<<20)
}

// memTotal reads MemTotal (in bytes) from a meminfo file; 0 if it cannot.
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit reads a cgroup v2 memory.max file: its bytes, or 0 for "max"
// (no limit) or a file that cannot be read.
func cgroupLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// sessionFDBudget is how many sessions at once the process's file
// descriptors leave room for, at netcore.MaxSessionFDs each, after one for
// every viewer and download the limits allow and a reserve for the
// listeners, the lab port, the archive and the runtime; 0 when the limit
// cannot be read or is too large to matter. Without it, two addresses
// starting the largest concurrent sessions ran the process out of
// descriptors ("accept: too many open files") at 1,024 sessions.
func sessionFDBudget(l web.Limits) int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return fdBudget(rl.Cur, l)
}

// fdBudget is sessionFDBudget for a limit of nofile descriptors.
func fdBudget(nofile uint64, l web.Limits) int {
	if nofile > 1<<30 {
		return 0
	}
	const reserve = 1024
	free := int64(nofile) - int64(l.MaxSubscribers) - int64(l.MaxDownloads) - reserve
	return int(max(free/netcore.MaxSessionFDs, 1))
}
