package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"

	"seqd/archive"
	"seqd/replica"
	"seqd/web"
)

// serve runs the web app until ctx ends, then shuts down gracefully: it
// stops accepting, lets running sessions finish within the grace period,
// closes WebSocket streams with 1001 and returns nil.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seqd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	common := registerCommonFlags(fs, "127.0.0.1:8080")
	origins := fs.String("allow-origins", "", "comma-separated origins (https://course.example.edu) whose pages may start and step\nsessions and follow live streams; empty: only seqd's own pages (reading a session is open to any page)")
	frames := fs.String("frame-ancestors", "", "comma-separated origins whose pages may frame /embed/ pages; empty: any page")
	maxBody := fs.Int64("max-body", web.DefaultMaxBody, "request body limit in bytes")
	data := fs.String("data", "", "directory of saved sessions (default $XDG_STATE_HOME/seqd/sessions or ~/.local/state/seqd/sessions); \"none\" keeps them in memory only")
	keepFiles := fs.Int("keep-files", archive.DefaultMaxFiles, "saved sessions kept on disk, per class; the oldest go first (with -nats the buckets are bounded by bytes only)")
	keepBytes := fs.Int64("keep-bytes", archive.DefaultMaxBytes, "bytes of saved sessions kept per class, on disk or, with -nats, in each archive bucket")
	var limits web.Limits
	def := web.DefaultLimits
	fs.IntVar(&limits.MaxRunning, "max-running", def.MaxRunning, "sessions running at once")
	fs.IntVar(&limits.MaxRunningPerIP, "max-running-per-ip", def.MaxRunningPerIP, "sessions running at once per client address (across the replicas with -nats)")
	fs.IntVar(&limits.MaxStepped, "max-stepped", def.MaxStepped, "stepped sessions (waiting for their presenters) at once")
	fs.IntVar(&limits.MaxSteppedPerIP, "max-stepped-per-ip", def.MaxSteppedPerIP, "stepped sessions at once per client address (across the replicas with -nats)")
	fs.IntVar(&limits.CreatePerMinute, "create-per-minute", def.CreatePerMinute, "sessions one client address may start per minute")
	fs.IntVar(&limits.AnswersPerMinute, "answers-per-minute", def.AnswersPerMinute, "answers to questions one client address may send per minute")
	fs.IntVar(&limits.MaxSubscribers, "max-viewers", def.MaxSubscribers, "WebSocket viewers in all")
	fs.IntVar(&limits.MaxSubscribersPerSession, "max-viewers-per-session", def.MaxSubscribersPerSession, "WebSocket viewers of one session")
	fs.IntVar(&limits.MaxSubscribersPerIP, "max-viewers-per-ip", def.MaxSubscribersPerIP, "WebSocket viewers from one client address")
	fs.IntVar(&limits.MaxMessageBytes, "max-message", def.MaxMessageBytes, "bytes in one WebSocket message")
	fs.IntVar(&limits.SavedFilesPerIP, "save-files-per-ip", def.SavedFilesPerIP, "sessions one client address may have saved in an hour, per class; past it, as past -save-bytes-per-ip")
	fs.IntVar(&limits.SavedBytesPerIP, "save-bytes-per-ip", def.SavedBytesPerIP, "session bytes one client address may have saved in an hour, per class (a saved file is about twice that);\npast it, its sessions are kept in memory only, so that no address can push out everyone's permalinks")
	memLimit := fs.Int64("memory-limit", defaultMemoryLimit(), "the memory the server may use, in bytes: it refuses new sessions, viewers and downloads near it,\nand the Go runtime collects garbage to stay under it (default: half the machine's memory, or 3/4 of the\ncontainer's limit); 0: no limit")
	fs.IntVar(&limits.MaxDownloads, "max-downloads", def.MaxDownloads, "sessions and exports being sent at once")
	fs.IntVar(&limits.MaxDownloadsPerIP, "max-downloads-per-ip", def.MaxDownloadsPerIP, "sessions and exports being sent at once to one client address")
	traceToken := fs.String("trace-token", os.Getenv("SEQD_TRACE_TOKEN"), "take sessions that seqd trace -publish sends with this token (give it to the class);\nempty: take none (default $SEQD_TRACE_TOKEN)")
	proxies := fs.String("trusted-proxies", "", "comma-separated address prefixes (10.0.0.0/8) of reverse proxies whose X-Forwarded-For names the client")
	labFlags := registerLabFlags(fs)         // lab.go
	replicaFlags := registerReplicaFlags(fs) // replicas.go
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	logger, err := common.logger(stderr)
	if err != nil {
		return err
	}
	if *memLimit > 0 {
		// Within the budget: half for running sessions at their own budget
		// each, a quarter for the finished ones kept in memory, the rest
		// for viewers, downloads and the runtime.
		debug.SetMemoryLimit(*memLimit)
		limits.MaxRunning = int(max(min(int64(limits.MaxRunning), *memLimit/2/common.maxBytes), 1))
		limits.MaxRunningPerIP = max(min(limits.MaxRunningPerIP, limits.MaxRunning/2), 1)
		limits.MaxStepped = int(max(min(int64(limits.MaxStepped), *memLimit/8/common.maxBytes), 1))
		limits.MaxSteppedPerIP = max(min(limits.MaxSteppedPerIP, limits.MaxStepped/2), 1)
		common.keepBytes = min(common.keepBytes, *memLimit/4/4) // four classes
		logger.Info("memory budget", "bytes", *memLimit, "running", limits.MaxRunning, "stepped", limits.MaxStepped, "kept_bytes_per_class", common.keepBytes)
	}
	if fitted, changed := fitDescriptors(limits); changed {
		limits = fitted
		logger.Warn("limits lowered to fit the file descriptors (raise ulimit -n, or LimitNOFILE= under systemd, for more)",
			"running", limits.MaxRunning, "stepped", limits.MaxStepped, "viewers", limits.MaxSubscribers, "downloads", limits.MaxDownloads)
	}
	runner := common.runner()
	var allowed []string
	for _, o := range splitList(*origins) {
		allowed = append(allowed, strings.TrimSuffix(o, "/"))
	}
	cfg, err := common.webConfig(web.Config{AllowedOrigins: allowed, MaxBody: *maxBody, Logger: logger, Limits: limits, TrustedProxies: splitList(*proxies), FrameAncestors: splitList(*frames), MemoryLimit: *memLimit, TraceToken: *traceToken, TraceBytes: common.maxBytes})
	if err != nil {
		return err
	}
	dir := *data
	if *data != "none" && dir == "" {
		if dir, err = archive.DefaultPath(); err != nil {
			return err
		}
	}
	var archiveBytes int64 // clustered, the finished sessions go to the cluster's buckets
	if *data != "none" {
		archiveBytes = *keepBytes
	}
	replicas, err := replicaFlags.start(ctx, dir, archiveBytes, logger)
	if err != nil {
		return err
	}
	defer replicas.stop()
	switch {
	case replicas != nil:
		// Every replica reads the cluster's archive buckets: a permalink
		// outlives the replica that ran its session.
		cfg.Replicas = replicas.node
		if replicas.archive != nil {
			logger.Info("saved sessions", "buckets", replica.ArchiveBucket+"*")
			cfg.Archive = replicas.archive
		}
	case *data != "none":
		saved, skipped, err := archive.Open(dir, archive.Options{MaxFiles: *keepFiles, MaxBytes: *keepBytes, Logger: logger})
		if err != nil {
			return fmt.Errorf("%w (choose another with -data DIR, or -data none)", err)
		}
		logger.Info("saved sessions", "dir", dir, "sessions", saved.Len(), "skipped", skipped)
		cfg.Archive = saved
	}
	srv, err := web.New(runner, common.store(), cfg)
	if err != nil {
		return err
	}
	lab, err := labFlags.open(runner, srv)
	if err != nil {
		return err
	}
	ln, err := common.listen("is another seqd running?")
	if err != nil {
		if lab != nil {
			_ = lab.Close()
		}
		return err
	}
	fmt.Fprintf(stdout, "seqd: open http://%s/ in your browser (Ctrl-C stops)\n", displayAddr(ln.Addr()))
	var f front
	if lab != nil {
		announceLab(stdout, lab)
		f = lab
	}
	if err := common.serveUntil(ctx, app{srv: srv, ln: ln, runner: runner, logger: logger}, f, false); err != nil {
		return err
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// displayAddr is the address to print for a person to open: an
// unspecified host (0.0.0.0, [::]) becomes localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
