package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"seqd/netcore"
	"seqd/progtrace"
	"seqd/trace"
)

// traceUsage is seqd trace's synopsis.
const traceUsage = `seqd trace [flags] -- PROGRAM [ARGS...] [::: PROGRAM [ARGS...] ...]

Runs the programs under ptrace and draws their real socket calls live: a
server and its client on one diagram, e.g.
  seqd trace -- ./serviceserver 7000 ::: ./serviceclient 127.0.0.1 7000 alice bob
Each program starts once the one before has listened (or after -start-delay);
when the last one ends, the others get -end-grace, then SIGTERM.`

// traceProgram is seqd trace: it runs the programs after "--" under the
// tracer, as one session, and serves it on a local page (the default) or
// prints it as JSON when they end (-json).
func traceProgram(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seqd trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, traceUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	common := registerCommonFlags(fs, "127.0.0.1:8080")
	asJSON := fs.Bool("json", false, "print the whole session as JSON (wire format v1) when the programs end, instead of serving it")
	startDelay := fs.Duration("start-delay", 500*time.Millisecond, "how long a program that never listens runs before the next one starts")
	endGrace := fs.Duration("end-grace", time.Second, "once the last program ends, how long the others may run before SIGTERM")
	publish := fs.String("publish", "", "send the session to a course server (https://seqd.example.edu) that takes traces\n(serve -trace-token) instead of serving it here; the class sees it there")
	token := fs.String("token", os.Getenv("SEQD_TRACE_TOKEN"), "the course server's trace token for -publish (default $SEQD_TRACE_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	programs, err := splitPrograms(fs.Args())
	if err != nil {
		return err
	}
	if _, err := progtrace.Check(programs); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding seqd's own binary for the tracer's helper: %w", err)
	}
	names := make([]string, len(programs))
	for i, p := range programs {
		names[i] = strings.Join(p, " ")
	}
	preview := common.preview
	if preview <= 0 {
		preview = netcore.DefaultPreview
	}
	sess := trace.NewSession("trace", map[string]any{"programs": names}, trace.Options{MaxEvents: common.maxEvents, MaxBytes: common.maxBytes})
	cfg := progtrace.Config{
		Programs: programs, Helper: []string{self, progtrace.HelperArg}, Preview: preview,
		StartDelay: *startDelay, Grace: *endGrace, Stdin: os.Stdin, Stdout: os.Stderr, Stderr: os.Stderr,
	}
	if *publish != "" {
		if *token == "" {
			return errors.New("-publish needs the course server's trace token: -token TOKEN, or SEQD_TRACE_TOKEN in the environment")
		}
		pub, err := startPublish(ctx, strings.TrimSuffix(*publish, "/"), *token, sess, map[string]any{"programs": names})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "seqd: tracing %s\nseqd: the class sees it at %s\n", strings.Join(names, " ::: "), pub.url)
		runErr := progtrace.Run(ctx, sess, cfg)
		if err := pub.wait(); err != nil {
			return fmt.Errorf("publishing to %s: %w", *publish, err)
		}
		fmt.Fprintf(stdout, "seqd: sent %d events to %s\n", sess.Meta().Events, pub.url)
		return runErr
	}
	if *asJSON {
		// The programs write to stderr: stdout is the session's.
		runErr := progtrace.Run(ctx, sess, cfg)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sess.Snapshot()); err != nil {
			return err
		}
		return runErr
	}
	a, err := common.defaultWebApp(stderr, "is another seqd running?")
	if err != nil {
		return err
	}
	a.srv.AddTraceSession(sess, strings.Join(names, " ::: "))
	fmt.Fprintf(stdout, "seqd: tracing %s\nseqd: open http://%s/s/%s in your browser (Ctrl-C stops)\n", strings.Join(names, " ::: "), displayAddr(a.ln.Addr()), sess.ID())
	f := &traceFront{sess: sess, cfg: cfg, stdout: stdout}
	return common.serveUntil(ctx, a, f, false)
}

// splitPrograms splits the command line after "--" at each ":::".
func splitPrograms(args []string) ([][]string, error) {
	if len(args) == 0 {
		return nil, errors.New("trace needs a program: " + strings.SplitN(traceUsage, "\n", 2)[0])
	}
	var out [][]string
	cur := []string{}
	for _, a := range args {
		if a == ":::" {
			out = append(out, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	out = append(out, cur)
	for i, p := range out {
		if len(p) == 0 {
			return nil, fmt.Errorf("program %d is empty: write seqd trace -- ./server 7000 ::: ./client 127.0.0.1 7000 alice", i+1)
		}
	}
	return out, nil
}

// traceFront runs the tracer beside seqd trace's web app (serveUntil's
// front): it starts with the app and is stopped with it; the page stays
// up after the programs end, until Ctrl-C.
type traceFront struct {
	sess   *trace.Session
	cfg    progtrace.Config
	stdout io.Writer

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (f *traceFront) Start(ctx context.Context, failed func(error)) {
	ctx, cancel := context.WithCancel(ctx)
	f.mu.Lock()
	f.cancel = cancel
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		err := progtrace.Run(ctx, f.sess, f.cfg)
		m := f.sess.Meta()
		if err != nil {
			fmt.Fprintf(f.stdout, "seqd: session %s %s: %v; the page stays until Ctrl-C\n", m.ID, m.State, err)
			return
		}
		fmt.Fprintf(f.stdout, "seqd: the programs ended (%d events); the page stays until Ctrl-C\n", m.Events)
	}()
}

func (f *traceFront) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
	}
	return nil
}

func (f *traceFront) Wait() { f.wg.Wait() }
