package progtrace

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"seqd/trace"
)

// Config says what Run traces and how.
type Config struct {
	// Programs are the command lines to run, in order, each started once
	// the one before has listened (or after StartDelay): a server, then
	// its client.
	Programs [][]string
	// Helper is the command line that makes this binary HelperMain: its
	// path and HelperArg (cmd/seqd: os.Executable(), HelperArg).
	Helper []string
	// Preview bounds the bytes a read or write event keeps.
	Preview int
	// StartDelay is how long a program that never listens may run before
	// the next one starts; 0: 500 ms.
	StartDelay time.Duration
	// Grace is how long the other programs may run once the last one has
	// ended (a server waits for clients forever), before they are sent
	// SIGTERM, and SIGKILL after as long again; 0: 1 s.
	Grace time.Duration
	// Stdin, Stdout and Stderr are the programs' (nil: /dev/null).
	Stdin, Stdout, Stderr *os.File
}

// ErrArch says that this build cannot trace: only amd64 and arm64 are
// known to the seccomp filter.
var ErrArch = fmt.Errorf("seqd trace runs on linux/amd64 and linux/arm64, not on %s/%s", runtime.GOOS, runtime.GOARCH)

// Check reports whether the programs can be traced at all, before a
// session is made: each exists and is executable, and the architecture is
// known. It returns the programs with their paths resolved.
func Check(programs [][]string) ([]string, error) {
	if auditArch == 0 {
		return nil, ErrArch
	}
	if len(programs) == 0 {
		return nil, errors.New("nothing to trace: give a program, such as seqd trace -- ./serviceclient 127.0.0.1 7000 alice")
	}
	paths := make([]string, len(programs))
	for i, argv := range programs {
		if len(argv) == 0 {
			return nil, fmt.Errorf("program %d is empty: separate programs with :::, as in seqd trace -- ./server 7000 ::: ./client 127.0.0.1 7000 alice", i+1)
		}
		p, err := exec.LookPath(argv[0])
		if err != nil {
			return nil, fmt.Errorf("%s: not found or not executable (%w); build it first, e.g. cc -Wall -o %s %s.c", argv[0], unwrapExec(err), filepath.Base(argv[0]), filepath.Base(argv[0]))
		}
		if p, err = filepath.Abs(p); err != nil {
			return nil, err
		}
		paths[i] = p
	}
	return paths, nil
}

// unwrapExec drops exec's own wording around the reason a lookup failed.
func unwrapExec(err error) error {
	var e *exec.Error
	if errors.As(err, &e) {
		return e.Err
	}
	return err
}

// Run traces cfg's programs into sess until they have all ended or ctx
// ends (then it kills them), and finishes sess. It never leaves a tracee
// behind: every traced process is reaped before Run returns, and the
// kernel kills them if seqd dies first (PTRACE_O_EXITKILL).
//
// It waits for its tracees with wait4(-1), which reaps any child of the
// process: seqd trace is a process of its own; a program that calls Run
// must not start other children while it runs (the tests run one at a
// time).
func Run(ctx context.Context, sess *trace.Session, cfg Config) error {
	paths, err := Check(cfg.Programs)
	if err != nil {
		sess.Finish(err)
		return err
	}
	if len(cfg.Helper) == 0 {
		err := errors.New("progtrace: no helper command line (Config.Helper)")
		sess.Finish(err)
		return err
	}
	if cfg.StartDelay <= 0 {
		cfg.StartDelay = 500 * time.Millisecond
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Second
	}
	t := newTracer(sess, cfg, paths)
	done := make(chan error, 1)
	go func() {
		// Every ptrace request must come from the thread that started the
		// tracees: this goroutine keeps that thread until it returns.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := t.loop()
		if err != nil {
			// Tracing itself failed: leave no tracee behind, stopped or not.
			t.killAll(unix.SIGKILL)
			t.reap()
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		t.killAll(unix.SIGKILL)
		err = <-done
		if err == nil {
			err = fmt.Errorf("stopped before the programs ended: %w", context.Cause(ctx))
		}
	}
	t.finish(err)
	return err
}

// tracer is Run's state, owned by the goroutine that runs its loop; mu
// guards what other goroutines read (the groups to kill).
type tracer struct {
	sess  *trace.Session
	cfg   Config
	paths []string

	procs   map[int]*proc // by thread id
	socks   map[uint64]*sock
	fds     map[int]map[int]uint64 // by thread group: fdsOf
	pidfds  map[int]int            // by thread group id, for pidfd_getfd
	names   map[string]int
	pids    map[string]int  // each lifeline's process (or thread) id
	listens map[string]bool // the addresses listened on
	order   orderQueue
	started int       // programs started
	startAt time.Time // when the last one started
	// leaders are the programs' first processes, by pid; their ends say
	// when the session is over.
	leaders map[int]int
	ended   int
	endedAt time.Time
	termed  int // 0, 1 (SIGTERM sent), 2 (SIGKILL sent)
	failure error
	noPeek  bool // pidfd_getfd was refused: events go without TCP states

	mu     sync.Mutex
	groups map[int]bool // the programs' process groups
	alive  map[int]bool // every traced thread: one that left its group (setsid) is killed too
}

// track adds or drops a traced thread in the set killAll reaches.
func (t *tracer) track(tid int, alive bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if alive {
		t.alive[tid] = true
	} else {
		delete(t.alive, tid)
	}
}

// proc is one traced thread.
type proc struct {
	tid, tgid int
	prog      int    // the index of the program it belongs to
	actor     string // its lifeline, named at its first socket call
	execed    bool   // it runs the program (not the helper before its exec)
	call      *call  // the call it is in, from its seccomp stop to its exit stop
	// restarting is the call a signal interrupted, which the kernel
	// enters again after the handler (seccompStop).
	restarting *call
	inLookup   bool // a name lookup of its is drawn, and it made no TCP call since
}

func newTracer(sess *trace.Session, cfg Config, paths []string) *tracer {
	return &tracer{
		sess: sess, cfg: cfg, paths: paths,
		procs: map[int]*proc{}, socks: map[uint64]*sock{}, fds: map[int]map[int]uint64{}, pidfds: map[int]int{},
		names: map[string]int{}, pids: map[string]int{}, listens: map[string]bool{}, leaders: map[int]int{},
		groups: map[int]bool{}, alive: map[int]bool{},
	}
}

// ptraceOptions: stop at seccomp's RET_TRACE, follow forks, vforks,
// threads and execs, mark syscall stops, and let the kernel kill every
// tracee if seqd dies.
const ptraceOptions = unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_EXITKILL

// loop starts the programs and handles their stops until every traced
// thread has ended.
func (t *tracer) loop() error {
	defer t.closePidfds()
	if err := t.start(); err != nil {
		return err
	}
	for len(t.procs) > 0 || t.started < len(t.paths) {
		flags := unix.WALL
		if _, last := t.lastEnded(); t.started < len(t.paths) || last && t.termed < 2 {
			flags |= unix.WNOHANG // a start or the others' end is due: wait in short steps
		}
		var ws unix.WaitStatus
		tid, err := unix.Wait4(-1, &ws, flags, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.ECHILD) {
			break
		}
		if err != nil {
			return fmt.Errorf("waiting for the traced programs: %w", err)
		}
		if tid == 0 {
			if err := t.due(); err != nil {
				return err
			}
			time.Sleep(200 * time.Microsecond)
			continue
		}
		t.handle(tid, ws)
		if err := t.due(); err != nil {
			return err
		}
	}
	t.order.flush(t.sess, true)
	return nil
}

// reap waits for every traced thread to end (after killAll(SIGKILL)),
// letting each stop go on so that the kill can take it.
func (t *tracer) reap() {
	deadline := time.Now().Add(10 * time.Second)
	for len(t.procs) > 0 && time.Now().Before(deadline) {
		var ws unix.WaitStatus
		tid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.ECHILD):
			return
		case err != nil || tid == 0:
			time.Sleep(time.Millisecond)
		case ws.Exited() || ws.Signaled():
			delete(t.procs, tid)
			t.track(tid, false)
		default:
			_ = unix.PtraceCont(tid, 0)
		}
	}
}

// due starts the next program or ends the others when their time has come.
func (t *tracer) due() error {
	if t.started < len(t.paths) && time.Since(t.startAt) >= t.cfg.StartDelay {
		return t.start()
	}
	if t.ended == 0 {
		return nil
	}
	// The last program has ended; the others (a server, or a child that
	// outlived its parent) get Grace.
	if _, last := t.lastEnded(); !last {
		return nil
	}
	switch since := time.Since(t.endedAt); {
	case t.termed == 0 && since >= t.cfg.Grace:
		t.termed = 1
		t.killAll(unix.SIGTERM)
	case t.termed == 1 && since >= 2*t.cfg.Grace:
		t.termed = 2
		t.killAll(unix.SIGKILL)
	}
	return nil
}

// lastEnded reports whether the last program's first process has ended.
func (t *tracer) lastEnded() (int, bool) {
	for pid, prog := range t.leaders {
		if prog == len(t.paths)-1 {
			_, alive := t.procs[pid]
			return pid, !alive
		}
	}
	return 0, false
}

// start starts the next program under the helper.
func (t *tracer) start() error {
	i := t.started
	argv := t.cfg.Programs[i]
	args := append([]string{t.cfg.Helper[0]}, t.cfg.Helper[1:]...)
	args = append(args, t.paths[i])
	args = append(args, argv...)
	files := []*os.File{t.cfg.Stdin, t.cfg.Stdout, t.cfg.Stderr}
	for j, f := range files {
		if f == nil {
			null, err := os.Open(os.DevNull)
			if err != nil {
				return err
			}
			defer null.Close()
			files[j] = null
		}
	}
	p, err := os.StartProcess(t.cfg.Helper[0], args, &os.ProcAttr{
		Env:   os.Environ(),
		Files: files,
		// Its own process group: Ctrl-C reaches seqd, which ends them.
		Sys: &syscall.SysProcAttr{Ptrace: true, Setpgid: true},
	})
	if err != nil {
		return fmt.Errorf("starting %s under ptrace: %w%s", argv[0], err, ptraceHint(err))
	}
	pid := p.Pid
	_ = p.Release() // Run reaps it, with wait4
	t.started++
	t.startAt = time.Now()
	t.leaders[pid] = i
	t.procs[pid] = &proc{tid: pid, tgid: pid, prog: i}
	t.track(pid, true)
	t.mu.Lock()
	t.groups[pid] = true
	t.mu.Unlock()
	return nil
}

// ptraceHint says what to do when ptrace is refused.
func ptraceHint(err error) string {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return " (ptrace is not permitted here: in a container, run it with --cap-add SYS_PTRACE; with Yama, set /proc/sys/kernel/yama/ptrace_scope to 1 or less)"
	}
	return ""
}

// killAll sends sig to every program's process group, and to every
// traced thread besides (one may have left its group).
func (t *tracer) killAll(sig unix.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for pgid := range t.groups {
		_ = unix.Kill(-pgid, sig)
	}
	for tid := range t.alive {
		_ = unix.Tgkill(tgidOf(tid), tid, sig)
	}
}

// handle acts on one wait status of thread tid and resumes it.
func (t *tracer) handle(tid int, ws unix.WaitStatus) {
	p := t.procs[tid]
	if ws.Exited() || ws.Signaled() {
		t.gone(tid, p, ws)
		return
	}
	if !ws.Stopped() {
		return
	}
	if p == nil {
		// A new thread or child, stopped before its parent's event came.
		p = &proc{tid: tid, tgid: tgidOf(tid), prog: -1}
		t.procs[tid] = p
		t.track(tid, true)
	}
	sig := ws.StopSignal()
	switch {
	case sig == unix.SIGTRAP|0x80:
		t.syscallStop(p)
		return
	case sig == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_SECCOMP:
		t.seccompStop(p)
		return
	case sig == unix.SIGTRAP && ws.TrapCause() > 0:
		t.event(p, ws.TrapCause())
		_ = unix.PtraceCont(tid, 0)
		return
	case sig == unix.SIGTRAP && !p.execed && p.prog >= 0 && t.leaders[tid] == p.prog && p.call == nil:
		// The helper's first stop, after its own exec: set the options.
		if err := unix.PtraceSetOptions(tid, ptraceOptions); err != nil {
			t.fail(fmt.Errorf("ptrace options for %s: %w", t.cfg.Programs[p.prog][0], err))
		}
		_ = unix.PtraceCont(tid, 0)
		return
	case sig == unix.SIGSTOP && p.prog < 0:
		// A new tracee's first stop: nothing to deliver.
		_ = unix.PtraceCont(tid, 0)
		return
	}
	// A signal for the program (SIGPIPE, SIGCHLD, SIGTERM): deliver it.
	_ = unix.PtraceCont(tid, int(sig))
}

// event handles a PTRACE_EVENT stop other than seccomp's.
func (t *tracer) event(p *proc, cause int) {
	switch cause {
	case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK, unix.PTRACE_EVENT_CLONE:
		msg, err := unix.PtraceGetEventMsg(p.tid)
		if err != nil {
			return
		}
		child := int(msg)
		c := t.procs[child]
		if c == nil {
			c = &proc{tid: child}
			t.procs[child] = c
			t.track(child, true)
		}
		c.prog, c.execed = p.prog, p.execed
		if cause == unix.PTRACE_EVENT_CLONE {
			c.tgid = tgidOf(child)
		} else {
			c.tgid = child
		}
	case unix.PTRACE_EVENT_EXEC:
		// After an exec the thread group's leader carries on, whichever
		// thread called it; the others are gone.
		if msg, err := unix.PtraceGetEventMsg(p.tid); err == nil && int(msg) != p.tid {
			if old := t.procs[int(msg)]; old != nil {
				p.prog = old.prog
				delete(t.procs, int(msg))
				t.track(int(msg), false)
			}
		}
		p.execed, p.tgid, p.actor, p.call = true, p.tid, "", nil
		delete(t.fds, p.tgid) // its close-on-exec descriptors are gone
	}
}

// gone forgets a thread that ended; a program's first process ending may
// end the session.
func (t *tracer) gone(tid int, p *proc, ws unix.WaitStatus) {
	delete(t.procs, tid)
	t.track(tid, false)
	if p != nil && (p.call != nil || p.restarting != nil) {
		for _, c := range []*call{p.call, p.restarting} {
			if c != nil {
				t.order.abandon(c)
			}
		}
		t.flush()
	}
	if p != nil && p.tgid == tid {
		delete(t.fds, tid)
	}
	if fd, ok := t.pidfds[tid]; ok {
		_ = unix.Close(fd)
		delete(t.pidfds, tid)
	}
	prog, leader := t.leaders[tid]
	if !leader || p == nil {
		return
	}
	t.ended++
	t.endedAt = time.Now()
	name := filepath.Base(t.cfg.Programs[prog][0])
	switch {
	case ws.Signaled() && t.termed == 0 && t.failure == nil && ws.Signal() != unix.SIGPIPE:
		t.failure = fmt.Errorf("%s was killed by signal %s", name, unix.SignalName(ws.Signal()))
	case ws.Exited() && !p.execed:
		t.failure = fmt.Errorf("%s could not be started under the tracer (the helper exited with status %d; its message is above)", name, ws.ExitStatus())
	}
}

// fail keeps the first reason the session failed.
func (t *tracer) fail(err error) {
	if t.failure == nil {
		t.failure = err
	}
}

// finish ends the session: failed when a program was killed by a signal
// seqd did not send, or when tracing itself failed.
func (t *tracer) finish(err error) {
	if err == nil {
		err = t.failure
	}
	t.sess.Finish(err)
}

func (t *tracer) closePidfds() {
	for pid, fd := range t.pidfds {
		_ = unix.Close(fd)
		delete(t.pidfds, pid)
	}
}

// tgidOf reads a thread's thread group from /proc; the thread itself when
// it cannot.
func tgidOf(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return tid
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return tid
}

// actorOf names p's lifeline at its first socket call: the program's
// name, then name[2], name[3] … for its children and threads.
func (t *tracer) actorOf(p *proc) string {
	if p.actor != "" {
		return p.actor
	}
	base := "?"
	if p.prog >= 0 {
		base = filepath.Base(t.cfg.Programs[p.prog][0])
	}
	t.names[base]++
	p.actor = base
	if n := t.names[base]; n > 1 {
		p.actor = base + "[" + strconv.Itoa(n) + "]"
	}
	t.sess.AddActor(p.actor)
	t.pids[p.actor] = p.tid
	t.sess.SetParam("pids", maps.Clone(t.pids))
	return p.actor
}
