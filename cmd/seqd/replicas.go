package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"seqd/replica"
)

// replicaFlags are seqd serve's flags for running as one of several
// replicas on NATS JetStream (docs/scale.md).
type replicaFlags struct {
	url           string
	embed         bool
	listen        string
	clusterListen string
	routes        string
	storeDir      string
	name          string
	replicas      int
}

// registerReplicaFlags adds the replica flags to fs.
func registerReplicaFlags(fs *flag.FlagSet) *replicaFlags {
	rf := &replicaFlags{}
	fs.StringVar(&rf.url, "nats", "", "join the NATS JetStream cluster at these comma-separated URLs (nats://host:4222,…): any replica\nthen serves any session's viewers; empty: one process, as by default")
	fs.BoolVar(&rf.embed, "nats-embed", false, "embed a NATS JetStream node in this process (with -nats-routes, three replicas are a cluster)")
	fs.StringVar(&rf.listen, "nats-listen", "127.0.0.1:4222", "with -nats-embed: where the node takes NATS clients, HOST:PORT")
	fs.StringVar(&rf.clusterListen, "nats-cluster-listen", "", "with -nats-embed: where the node meets the other nodes, HOST:PORT (such as :6222)")
	fs.StringVar(&rf.routes, "nats-routes", "", "with -nats-embed: the other nodes' cluster addresses, comma-separated (nats://peer:6222,…)")
	fs.StringVar(&rf.storeDir, "nats-store", "", "with -nats-embed: the node's JetStream directory (default: a nats directory beside -data's)")
	fs.StringVar(&rf.name, "nats-name", "", "with -nats-embed: the node's name in the cluster (default: the host name and port)")
	fs.IntVar(&rf.replicas, "nats-replicas", 0, "how many NATS nodes keep each message: 1, or 3 in a cluster (default: 3 with -nats-routes, else 1)")
	return rf
}

// replicaSet is what start made: the node the web server uses, the
// archive of finished sessions (if asked for), and how to stop it all.
type replicaSet struct {
	node    *replica.Node
	archive *replica.Archive
	nc      *nats.Conn
	server  *server.Server
}

// start joins or embeds NATS as the flags say, and opens the archive
// buckets of archiveBytes each (0: none); nil (and no error) when they ask
// for neither.
func (rf *replicaFlags) start(ctx context.Context, dataDir string, archiveBytes int64, logger *slog.Logger) (*replicaSet, error) {
	if rf.url == "" && !rf.embed {
		if rf.routes != "" || rf.clusterListen != "" {
			return nil, errors.New("-nats-routes and -nats-cluster-listen go with -nats-embed")
		}
		return nil, nil
	}
	if rf.url != "" && rf.embed {
		return nil, errors.New("-nats joins a cluster and -nats-embed makes one: choose one")
	}
	set := &replicaSet{}
	urls := rf.url
	if rf.embed {
		ns, err := rf.embedded(dataDir)
		if err != nil {
			return nil, err
		}
		set.server = ns
		urls = ns.ClientURL()
	}
	nc, err := nats.Connect(urls, nats.Name("seqd"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		set.stop()
		return nil, fmt.Errorf("-nats %s: %w", urls, err)
	}
	set.nc = nc
	replicas := rf.replicas
	if replicas == 0 {
		replicas = 1
		if rf.routes != "" || len(splitList(rf.url)) > 1 {
			replicas = 3
		}
	}
	// The first replica of a new cluster waits for the stream's election.
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = untilReady(sctx, logger, func(ctx context.Context) (err error) {
		set.node, err = replica.Start(ctx, nc, replica.Config{Replicas: replicas, Logger: logger})
		return err
	})
	if err == nil && archiveBytes > 0 {
		err = untilReady(sctx, logger, func(ctx context.Context) (err error) {
			set.archive, err = set.node.OpenArchive(ctx, archiveBytes)
			return err
		})
	}
	if err != nil {
		set.stop()
		return nil, fmt.Errorf("NATS JetStream at %s: %w (are the other nodes up?)", urls, err)
	}
	logger.Info("replica", "nats", urls, "replicas", replicas, "embedded", rf.embed)
	return set, nil
}

// JetStream's error codes for storage it cannot reserve (nats-server's
// JSStorageResourcesExceededErr and JSInsufficientResourcesErr).
const (
	jsStorageExceeded       jetstream.ErrorCode = 10047
	jsInsufficientResources jetstream.ErrorCode = 10023
)

// untilReady calls try, a few seconds each time, until it succeeds or ctx
// ends: a request to a cluster still electing its leader may get no
// answer at all.
func untilReady(ctx context.Context, logger *slog.Logger, try func(context.Context) error) error {
	for {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := try(tctx)
		cancel()
		if err == nil {
			return nil
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jsStorageExceeded || apiErr.ErrorCode == jsInsufficientResources) {
			// Not a cluster still electing: the nodes' JetStream storage
			// cannot hold what the stream and the archive buckets reserve.
			return fmt.Errorf("%w: each NATS node's JetStream storage must hold the events stream (1 GiB) and four archive buckets of -keep-bytes each; lower -keep-bytes or give JetStream more room", err)
		}
		logger.Debug("NATS JetStream not ready", "err", err)
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// embedded starts the NATS node -nats-embed asks for.
func (rf *replicaFlags) embedded(dataDir string) (*server.Server, error) {
	host, port, err := hostPort(rf.listen)
	if err != nil {
		return nil, fmt.Errorf("-nats-listen: %w", err)
	}
	opts := &server.Options{Host: host, Port: port, JetStream: true, NoSigs: true, NoLog: true, ServerName: rf.name}
	opts.StoreDir = rf.storeDir
	if opts.StoreDir == "" {
		if dataDir == "" || dataDir == "none" {
			return nil, errors.New("-nats-embed needs -nats-store DIR (or -data DIR) for its JetStream files")
		}
		opts.StoreDir = dataDir + "-nats"
	}
	if rf.clusterListen != "" {
		h, p, err := hostPort(rf.clusterListen)
		if err != nil {
			return nil, fmt.Errorf("-nats-cluster-listen: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: "seqd", Host: h, Port: p}
		for _, r := range splitList(rf.routes) {
			u, err := url.Parse(r)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("-nats-routes: %q is not nats://host:port", r)
			}
			opts.Routes = append(opts.Routes, u)
		}
	} else if rf.routes != "" {
		return nil, errors.New("-nats-routes needs -nats-cluster-listen, where the other nodes reach this one")
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("-nats-embed: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("-nats-embed: the node did not start listening on %s", rf.listen)
	}
	return ns, nil
}

// stop closes the node, the connection and the embedded server, in that
// order; a nil set does nothing.
func (set *replicaSet) stop() {
	if set == nil {
		return
	}
	if set.node != nil {
		set.node.Close()
	}
	if set.nc != nil {
		set.nc.Close()
	}
	if set.server != nil {
		set.server.Shutdown()
		set.server.WaitForShutdown()
	}
}

func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(strings.TrimSpace(addr))
	if err != nil {
		return "", 0, fmt.Errorf("%q: want HOST:PORT", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: the port must be a number from 0 to 65535", addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}
