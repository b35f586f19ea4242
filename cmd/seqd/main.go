// Command seqd runs real TCP client/server exchanges and draws them as
// message sequence diagrams: in the browser (seqd serve) or as a transcript
// in the terminal (seqd run).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"seqd/progtrace"
)

func main() {
	progtrace.BecomeHelperIfAsked("seqd trace") // seqd trace's helper: the traced program, or why not
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seqd:", err)
		os.Exit(1)
	}
}

const usage = `seqd runs real TCP exchanges on loopback and draws every socket call.

Usage:
  seqd [serve] [-addr HOST:PORT]   serve the web app (default 127.0.0.1:8080); -lab-port 7000 also
                                   traces any program that connects to port 7000
  seqd proxy -listen 127.0.0.1:9000 -target 127.0.0.1:7000
                                   trace a client and a server of your own, with seqd between them
  seqd trace -- PROGRAM [ARGS...]  trace your own programs' socket calls and draw them;
                                   ::: separates a server and its client
  seqd run SCENARIO [flags]        run one session and print its calls
  seqd list                        list the scenarios and their parameters
  seqd bench [-quick]              measure this machine against seqd's performance targets

Run "seqd run SCENARIO -h" for a scenario's flags.
`

// run is seqd's whole command line: it parses args and performs the
// command, writing output to stdout and messages to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "run":
		return runScenario(ctx, args, stdout, stderr)
	case "proxy":
		return proxy(ctx, args, stdout, stderr)
	case "trace":
		return traceProgram(ctx, args, stdout, stderr)
	case "list":
		return list(stdout)
	case "bench":
		return bench(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q; the commands are serve, proxy, trace, run, list, bench", cmd)
}
