module seqd

go 1.26.8

// Why each dependency (README "How it is built" says more):
require (
	github.com/chromedp/chromedp v0.23.0 // tests only: drives headless Chromium for the browser tests
	github.com/coder/websocket v1.8.15 // the live stream; the maintained home of nhooyr.io/websocket
	github.com/go-chi/chi/v5 v5.5.0 // routing, and the client-address middleware the limits count by
	github.com/go-chi/httprate v0.16.1 // per-address session-creation rate limit
	github.com/nats-io/nats-server/v2 v2.15.2 // replicas: a NATS JetStream node embedded in seqd (serve -nats-embed), and the tests' cluster
	github.com/nats-io/nats.go v1.55.0 // replicas: the JetStream client (stream of events, metadata bucket, ordered consumers)
	github.com/prometheus/client_golang v1.25.0 // /metrics in Prometheus text format
	golang.org/x/sys v0.50.0 // the socket calls themselves: socket, bind, connect, TCP_INFO, AF_PACKET
)

require github.com/chromedp/cdproto v0.159.0 // tests only: the browser tests' DevTools protocol types (input, emulation)

require (
	github.com/antithesishq/antithesis-sdk-go v0.8.0-default-no-op // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nats-io/jwt/v2 v2.8.2 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/zeebo/xxh3 v1.0.2 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
