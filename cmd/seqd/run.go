package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"seqd/netcore"
	"seqd/trace"
)

// list prints the scenarios with their parameters.
func list(stdout io.Writer) error {
	var r netcore.Runner
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, sc := range r.Scenarios() {
		fmt.Fprintf(tw, "%s\t%s\n", sc.Name, sc.Title)
		for _, p := range sc.Params {
			fmt.Fprintf(tw, "\t  -%s\t%s (default %s)\n", flagName(p), p.Help, defaultText(p))
		}
	}
	return tw.Flush()
}

// flagName is the command-line flag of a parameter: pace_ms is -pace, a
// duration; the others keep their names.
func flagName(p trace.Param) string {
	if p.Name == "pace_ms" {
		return "pace"
	}
	return p.Name
}

func defaultText(p trace.Param) string {
	switch v := p.Default.(type) {
	case []string:
		return strings.Join(v, ",")
	case int:
		if p.Name == "pace_ms" {
			return (time.Duration(v) * time.Millisecond).String()
		}
	}
	return fmt.Sprint(p.Default)
}

// runScenario runs one session and prints its events as they happen, or
// the whole session as JSON.
func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var r netcore.Runner
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		names := []string{}
		for _, sc := range r.Scenarios() {
			names = append(names, sc.Name)
		}
		return fmt.Errorf("run needs a scenario: seqd run SCENARIO [flags]; the scenarios are %s", strings.Join(names, ", "))
	}
	name := args[0]
	var info *trace.ScenarioInfo
	for _, sc := range r.Scenarios() {
		if sc.Name == name {
			info = &sc
			break
		}
	}
	if info == nil {
		return fmt.Errorf("%w %q; run seqd list to see them", trace.ErrUnknownScenario, name)
	}

	fs := flag.NewFlagSet("seqd run "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the whole session as JSON (wire format v1) instead of a transcript")
	ladder := fs.Bool("ladder", false, "print a plain-text ladder diagram after the session")
	mermaid := fs.Bool("mermaid", false, "print the session as a Mermaid sequenceDiagram after it")
	timeout := fs.Duration("timeout", netcore.DefaultTimeout, "the session's deadline")
	preview := fs.Int("preview", netcore.DefaultPreview, "payload bytes kept per read or write")
	segments := fs.Bool("segments", false, "also capture the TCP segments on the loopback interface (needs CAP_NET_RAW)")
	raw := map[string]any{}
	for _, p := range info.Params {
		switch {
		case p.Name == "pace_ms":
			fs.Func("pace", p.Help+" A duration such as 200ms (default 0).", func(s string) error {
				d, err := time.ParseDuration(s)
				if err != nil {
					return fmt.Errorf("-pace wants a duration such as 200ms: %w", err)
				}
				raw[p.Name] = int(d / time.Millisecond)
				return nil
			})
		case p.Type == trace.ParamStrings:
			fs.Func(p.Name, p.Help+" Comma-separated (default "+defaultText(p)+").", func(s string) error {
				raw[p.Name] = strings.Split(s, ",")
				return nil
			})
		default:
			fs.Func(p.Name, fmt.Sprintf("%s (default %v).", p.Help, p.Default), func(s string) error {
				var n json.Number = json.Number(strings.TrimSpace(s))
				if _, err := n.Int64(); err != nil {
					return fmt.Errorf("-%s wants a whole number, not %q", p.Name, s)
				}
				raw[p.Name] = n
				return nil
			})
		}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; flags go after the scenario name", fs.Arg(0))
	}
	r.Timeout, r.Preview = *timeout, *preview
	if r.Preview == 0 {
		r.Preview = -1 // the flag's 0 means no previews
	}

	if *segments {
		if ok, why := netcore.SegmentsAvailable(); !ok {
			return fmt.Errorf("-segments: %s", why)
		}
	}
	sess, err := r.Prepare(name, raw, trace.Features{Segments: *segments})
	if err != nil {
		var pe *trace.ParamError
		if errors.As(err, &pe) {
			return fmt.Errorf("-%s: %s", strings.Replace(pe.Param, "pace_ms", "pace", 1), pe.Msg)
		}
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, sess)
	}()
	if *asJSON {
		<-done
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sess.Snapshot()); err != nil {
			return err
		}
	} else if err := printLive(ctx, sess, stdout); err != nil {
		return err
	}
	<-done
	rec := sess.Snapshot()
	if *ladder {
		if err := trace.WriteLadder(stdout, rec); err != nil {
			return err
		}
	}
	if *mermaid {
		if err := trace.WriteMermaid(stdout, rec); err != nil {
			return err
		}
	}
	if rec.State == trace.StateFailed {
		return fmt.Errorf("session %s failed: %s", rec.ID, rec.Error)
	}
	return nil
}

// printLive prints each event's transcript line as it is recorded. A call
// that blocked while others ran is two lines, as strace prints it: its
// begin, `read(9, 1024) <unfinished ...>`, when it was entered, and its end,
// `<... read resumed> = 16 "alice\n…"`, when it returned.
func printLive(ctx context.Context, sess *trace.Session, w io.Writer) error {
	sub := sess.Subscribe(0, 0)
	for {
		b, err := sub.Next(ctx, 0, 0)
		if err != nil {
			return err
		}
		if b.To > b.From {
			width := trace.TranscriptWidth(sess.Meta().Actors)
			for _, e := range sess.Events(b.From, b.To) {
				if _, err := fmt.Fprintln(w, trace.TranscriptLine(&e, width)); err != nil {
					return err
				}
			}
		}
		if b.Final {
			fmt.Fprintf(w, "session %s %s", sess.ID(), b.State)
			if b.Error != "" {
				fmt.Fprintf(w, ": %s", b.Error)
			}
			fmt.Fprintln(w)
			return nil
		}
	}
}
