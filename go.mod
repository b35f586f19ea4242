module seqd

go 1.26.8

// Why each dependency (README "How it is built" says more):
require (
	github.com/chromedp/chromedp v0.23.0 // tests only: drives headless Chromium for the browser tests
	github.com/coder/websocket v1.8.15 // the live stream; the maintained home of nhooyr.io/websocket
	github.com/go-chi/chi/v5 v5.5.0 // routing, and the client-address middleware the limits count by
	github.com/go-chi/httprate v0.16.1 // per-address session-creation rate limit
	github.com/prometheus/client_golang v1.25.0 // /metrics in Prometheus text format
	golang.org/x/sys v0.50.0 // the socket calls themselves: socket, bind, connect, TCP_INFO, AF_PACKET
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/zeebo/xxh3 v1.0.2 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
