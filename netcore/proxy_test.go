package netcore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"seqd/trace"
)

// startTestProxy opens a proxy to target with full payloads kept and
// serves it until the test ends; each new session arrives on the channel.
func startTestProxy(t *testing.T, target netip.AddrPort) (*Proxy, <-chan *trace.Session) {
	t.Helper()
	r := &Runner{Preview: 1 << 30, Timeout: 30 * time.Second}
	sessions := make(chan *trace.Session, 16)
	p, err := r.ListenProxy(ProxyConfig{Target: target, OnSession: func(s *trace.Session, _ string) { sessions <- s }})
	if err != nil {
		t.Fatalf("ListenProxy: %v", err)
	}
	serveForTest(t, p.front)
	return p, sessions
}

// plainServer is an untraced server on 127.0.0.1 that serves one
// connection with serve and reports what it read.
func plainServer(t *testing.T, serve func(c *net.TCPConn) ([]byte, error)) (netip.AddrPort, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		b, err := serve(c.(*net.TCPConn))
		if err != nil {
			t.Errorf("the server: %v", err)
		}
		got <- b
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return netip.MustParseAddrPort(ln.Addr().String()), got
}

// notText is n bytes that are not UTF-8 text, so that previews go in base64.
func notText(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// legOf returns the conn of the leg on which actor is the far end.
func legOf(evs []trace.Event, far string) string {
	for _, e := range evs {
		if e.Actor == far && e.Inferred {
			return e.Conn
		}
	}
	return ""
}

// bytesOf concatenates the payloads of actor's events of one kind on conn.
func bytesOf(evs []trace.Event, kind trace.Kind, actor, conn string) []byte {
	var b []byte
	for _, e := range evs {
		if e.Kind == kind && e.Actor == actor && e.Conn == conn {
			b = append(b, e.Payload()...)
		}
	}
	return b
}

func TestProxyPassesBothLegsExactly(t *testing.T) {
	tests := []struct {
		name    string
		request []byte
		// serve is the server: it returns what it read.
		serve func(c *net.TCPConn) ([]byte, error)
		reply func(request []byte) []byte
	}{
		{
			name:    "a serviceclient-like server replies after the client's end of file",
			request: []byte("alice\nbob\ncarol\n"),
			serve: func(c *net.TCPConn) ([]byte, error) {
				b, err := io.ReadAll(c) // only the client's half-close, passed on, ends this
				if err != nil {
					return b, err
				}
				_, err = fmt.Fprintf(c, "got %d bytes\n", len(b))
				return b, err
			},
			reply: func(req []byte) []byte { return fmt.Appendf(nil, "got %d bytes\n", len(req)) },
		},
		{
			name:    "binary larger than a buffer passes unchanged both ways",
			request: notText(50_000),
			serve: func(c *net.TCPConn) ([]byte, error) {
				b, err := io.ReadAll(c)
				if err != nil {
					return b, err
				}
				_, err = c.Write(bytes.Repeat(b, 2))
				return b, err
			},
			reply: func(req []byte) []byte { return bytes.Repeat(req, 2) },
		},
		{
			name:    "an echo server answers while the client still sends",
			request: bytes.Repeat([]byte("ping\n"), 2000),
			serve: func(c *net.TCPConn) ([]byte, error) {
				var got bytes.Buffer
				_, err := io.Copy(io.MultiWriter(c, &got), c)
				return got.Bytes(), err
			},
			reply: func(req []byte) []byte { return req },
		},
		{
			name:    "a server that closes first still gets the client's bytes",
			request: []byte("bye\n"),
			serve: func(c *net.TCPConn) ([]byte, error) {
				_, err := io.WriteString(c, "hello, I close first\n")
				if err != nil {
					return nil, err
				}
				if err := c.CloseWrite(); err != nil {
					return nil, err
				}
				return io.ReadAll(c)
			},
			reply: func([]byte) []byte { return []byte("hello, I close first\n") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, serverGot := plainServer(t, tt.serve)
			p, sessions := startTestProxy(t, target)
			c := dialTest(t, p.Addr())
			wrote := make(chan error, 1)
			go func() {
				_, err := c.Write(tt.request)
				if err == nil {
					err = c.CloseWrite()
				}
				wrote <- err
			}()
			reply, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("the client's read: %v", err)
			}
			if err := <-wrote; err != nil {
				t.Fatalf("the client's write: %v", err)
			}
			want := tt.reply(tt.request)
			if !bytes.Equal(reply, want) {
				t.Errorf("the client got %d bytes; want %d", len(reply), len(want))
			}
			if got := <-serverGot; !bytes.Equal(got, tt.request) {
				t.Errorf("the server got %d bytes; want the %d the client sent", len(got), len(tt.request))
			}

			rec := nextSession(t, sessions)
			if rec.State != trace.StateDone {
				t.Fatalf("session %s (%s); want done", rec.State, rec.Error)
			}
			if rec.Scenario != "proxy" || strings.Join(rec.Actors, ",") != "client,proxy,server" {
				t.Errorf("scenario %q, actors %v; want proxy, [client proxy server]", rec.Scenario, rec.Actors)
			}
			checkInvariants(t, rec, false)
			checkMirrored(t, rec.Events, "proxy", "client", false)
			checkMirrored(t, rec.Events, "proxy", "server", false)
			clientLeg, serverLeg := legOf(rec.Events, "client"), legOf(rec.Events, "server")
			if clientLeg == "" || serverLeg == "" || clientLeg == serverLeg {
				t.Fatalf("legs %q and %q; want two connections", clientLeg, serverLeg)
			}
			if !strings.HasPrefix(clientLeg, c.LocalAddr().String()+"-") || !strings.HasSuffix(serverLeg, "-"+target.String()) {
				t.Errorf("legs %s and %s; want the client's %s and the target %s", clientLeg, serverLeg, c.LocalAddr(), target)
			}
			legs := []struct {
				what       string
				kind       trace.Kind
				actor, leg string
				want       []byte
			}{
				{"the proxy's reads from the client", trace.KindRecv, "proxy", clientLeg, tt.request},
				{"the proxy's writes to the server", trace.KindSend, "proxy", serverLeg, tt.request},
				{"the proxy's reads from the server", trace.KindRecv, "proxy", serverLeg, want},
				{"the proxy's writes to the client", trace.KindSend, "proxy", clientLeg, want},
				{"the client's inferred writes", trace.KindSend, "client", clientLeg, tt.request},
				{"the server's inferred reads", trace.KindRecv, "server", serverLeg, tt.request},
				{"the server's inferred writes", trace.KindSend, "server", serverLeg, want},
				{"the client's inferred reads", trace.KindRecv, "client", clientLeg, want},
			}
			for _, l := range legs {
				if got := bytesOf(rec.Events, l.kind, l.actor, l.leg); !bytes.Equal(got, l.want) {
					t.Errorf("%s: %d bytes; want %d", l.what, len(got), len(l.want))
				}
			}
			// The half-close passes on: each end of file read on one leg
			// is followed by the proxy's shutdown(SHUT_WR) on the other.
			for _, leg := range [][2]string{{clientLeg, serverLeg}, {serverLeg, clientLeg}} {
				eof, shut := -1, -1
				for _, e := range rec.Events {
					if e.Actor == "proxy" && e.Kind == trace.KindRecv && e.EOF && e.Conn == leg[0] {
						eof = e.Seq
					}
					if e.Actor == "proxy" && e.Kind == trace.KindShutdown && e.How == "SHUT_WR" && e.Conn == leg[1] {
						shut = e.Seq
					}
				}
				if eof < 0 || shut < eof {
					t.Errorf("end of file read on %s at seq %d, shutdown(SHUT_WR) on %s at seq %d; want the shutdown after", leg[0], eof, leg[1], shut)
				}
			}
			wantKinds(t, rec.Events, "proxy", trace.KindAccept, trace.KindGetaddrinfo, trace.KindSocket, trace.KindConnect, trace.KindClose)
			wantKinds(t, rec.Events, "server", trace.KindAccept, trace.KindClose)
			wantKinds(t, rec.Events, "client", trace.KindConnect, trace.KindShutdown, trace.KindClose)
		})
	}
}

func TestProxyFailsWhenTheTargetRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close() // nobody listens there now
	p, sessions := startTestProxy(t, target)
	c := dialTest(t, p.Addr())
	if _, err := io.ReadAll(c); err != nil {
		t.Logf("the client's read: %v", err)
	}
	rec := nextSession(t, sessions)
	if rec.State != trace.StateFailed || !strings.Contains(rec.Error, "connection refused") || !strings.Contains(rec.Error, "is the server running") {
		t.Errorf("session %s (%q); want failed, the connection refused", rec.State, rec.Error)
	}
	if countKind(rec.Events, trace.KindConnect, "ECONNREFUSED") != 1 {
		t.Errorf("no connect failed with ECONNREFUSED")
	}
	for _, e := range rec.Events {
		if e.Actor == "server" {
			t.Errorf("event %+v: nothing of the server should be inferred when nothing accepted", e)
		}
	}
}

func TestProxyTargetRules(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ProxyConfig
		wantErr error  // errors.Is
		errText string // or in the text
	}{
		{name: "a remote target needs AllowRemoteTarget", cfg: ProxyConfig{Target: netip.MustParseAddrPort("192.0.2.1:80")}, wantErr: ErrRemoteTarget},
		{name: "a remote target is allowed when asked for", cfg: ProxyConfig{Target: netip.MustParseAddrPort("192.0.2.1:80"), AllowRemoteTarget: true}},
		{name: "any 127.0.0.0/8 address is loopback", cfg: ProxyConfig{Target: netip.MustParseAddrPort("127.0.0.2:7000")}},
		{name: "no target is an error", cfg: ProxyConfig{}, errText: "want an IPv4 address and a port"},
		{name: "IPv6 is not spoken", cfg: ProxyConfig{Target: netip.MustParseAddrPort("[::1]:7000")}, errText: "IPv4 only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Runner
			p, err := r.ListenProxy(tt.cfg)
			if p != nil {
				p.Close()
			}
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("ListenProxy: %v; want %v", err, tt.wantErr)
			case tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)):
				t.Errorf("ListenProxy: %v; want an error saying %q", err, tt.errText)
			case tt.wantErr == nil && tt.errText == "" && err != nil:
				t.Errorf("ListenProxy: %v; want none", err)
			}
		})
	}
	t.Run("a target that is the proxy itself is refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := netip.MustParseAddrPort(ln.Addr().String())
		ln.Close()
		var r Runner
		p, err := r.ListenProxy(ProxyConfig{Listen: addr, Target: addr})
		if p != nil {
			p.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "forward to itself") {
			t.Errorf("ListenProxy: %v; want an error saying it would forward to itself", err)
		}
	})
}
