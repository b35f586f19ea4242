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
	return limit // no floor: one above what the machine has would get the process killed, not refusing work
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

// fitDescriptors fits the limits to the process's file descriptors
// (RLIMIT_NOFILE), after a reserve for the listeners, the lab port, the
// archive and the runtime: one for each viewer and download, and
// netcore.MaxSessionFDs for each running or stepped session (three
// quarters running, a quarter stepped). Where the viewers and downloads the
// limits allow would leave room for fewer than minSessions sessions, they
// are lowered too: a quarter of what is left for viewers, a sixteenth for
// downloads.
// It reports whether it changed anything. Without it, two addresses
// starting the largest concurrent sessions ran a 20,000-descriptor process
// out of descriptors ("accept: too many open files").
func fitDescriptors(l web.Limits) (web.Limits, bool) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return l, false
	}
	return fitDescriptorsTo(rl.Cur, l)
}

// minSessions is the fewest sessions at once fitDescriptorsTo keeps room
// for, lowering the viewers and downloads to make it.
const minSessions = 64

// fitDescriptorsTo is fitDescriptors for a limit of nofile descriptors.
func fitDescriptorsTo(nofile uint64, l web.Limits) (web.Limits, bool) {
	if nofile > 1<<30 {
		return l, false
	}
	free := int64(nofile) - min(1024, int64(nofile)/4)
	if int64(l.MaxSubscribers)+int64(l.MaxDownloads)+minSessions*netcore.MaxSessionFDs > free {
		l.MaxSubscribers = int(max(min(int64(l.MaxSubscribers), free/4), 1))
		l.MaxSubscribersPerSession = min(l.MaxSubscribersPerSession, l.MaxSubscribers)
		l.MaxSubscribersPerIP = min(l.MaxSubscribersPerIP, l.MaxSubscribers)
		l.MaxDownloads = int(max(min(int64(l.MaxDownloads), free/16), 1))
		l.MaxDownloadsPerIP = min(l.MaxDownloadsPerIP, l.MaxDownloads)
	}
	sessions := int(max((free-int64(l.MaxSubscribers)-int64(l.MaxDownloads))/netcore.MaxSessionFDs, 2))
	// A full server holds an eighth more while the sessions it stopped to
	// make room end (web's sessionSlots): that fits too.
	sessions = max(sessions*8/9, 2)
	before := l
	l.MaxRunning = max(min(l.MaxRunning, sessions*3/4), 1)
	l.MaxRunningPerIP = max(min(l.MaxRunningPerIP, l.MaxRunning/2), 1)
	l.MaxStepped = max(min(l.MaxStepped, sessions/4), 1)
	l.MaxSteppedPerIP = max(min(l.MaxSteppedPerIP, l.MaxStepped/2), 1)
	return l, l != before
}
