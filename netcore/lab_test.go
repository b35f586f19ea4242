package netcore

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"seqd/trace"
)

// startTestLab opens a lab port on 127.0.0.1 with full payloads kept and
// serves it until the test ends; each new session arrives on the channel.
func startTestLab(t *testing.T, cfg LabConfig) (*Lab, <-chan *trace.Session) {
	t.Helper()
	r := &Runner{Preview: 1 << 20, Timeout: 30 * time.Second}
	sessions := make(chan *trace.Session, 16)
	cfg.OnSession = func(s *trace.Session, _ string) { sessions <- s }
	lab, err := r.ListenLab(cfg)
	if err != nil {
		t.Fatalf("ListenLab: %v", err)
	}
	serveForTest(t, lab.front)
	return lab, sessions
}

// serveForTest serves f (a lab port's or a proxy's) until the test ends,
// then closes it and waits for its sessions.
func serveForTest(t *testing.T, f *front) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx, func(err error) { t.Errorf("Serve: %v", err) })
	t.Cleanup(func() {
		cancel()
		if err := f.Close(); err != nil { // waits for Serve
			t.Errorf("Close: %v", err)
		}
		f.Wait()
	})
}

// dialTest connects a plain, untraced client with a deadline.
func dialTest(t *testing.T, addr netip.AddrPort) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

// nextSession waits for the next session and for it to end.
func nextSession(t *testing.T, sessions <-chan *trace.Session) trace.Record {
	t.Helper()
	select {
	case s := <-sessions:
		select {
		case <-s.Done():
			return s.Snapshot()
		case <-time.After(10 * time.Second):
			t.Fatalf("session %s did not end within 10 s", s.ID())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no session within 10 s")
	}
	return trace.Record{}
}

// failedSession waits for a session to fail, while others (the
// per-address test's first, held one) may go on running.
func failedSession(t *testing.T, sessions <-chan *trace.Session) trace.Record {
	t.Helper()
	var seen []*trace.Session
	deadline := time.After(10 * time.Second)
	for {
		for _, s := range seen {
			if m := s.Meta(); m.State == trace.StateFailed {
				return s.Snapshot()
			}
		}
		select {
		case s := <-sessions:
			seen = append(seen, s)
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no session failed within 10 s (%d seen)", len(seen))
		}
	}
}

// checkMirrored checks that every successful data call of traced on a
// connection whose other end is far has its inferred counterpart by far, with the same bytes at
// the same offset: a send just before each recv, a recv just after each
// send. adjacent asks for exactly the neighbouring event, as when one
// goroutine serves the connection.
func checkMirrored(t *testing.T, evs []trace.Event, traced, far string, adjacent bool) {
	t.Helper()
	matches := func(e, f trace.Event, kind trace.Kind) bool {
		return f.Actor == far && f.Inferred && f.Kind == kind && f.Conn == e.Conn && f.FD == -1 &&
			f.Offset == e.Offset && f.Bytes == e.Bytes && bytes.Equal(f.Payload(), e.Payload())
	}
	farConns := map[string]bool{}
	for _, e := range evs {
		if e.Actor == far {
			farConns[e.Conn] = true
		}
	}
	for i, e := range evs {
		// A begin moved no bytes yet: its end is checked.
		if e.Actor != traced || !e.IsData() || e.Errno != "" || e.Inferred || !farConns[e.Conn] || e.Phase == trace.PhaseBegin {
			continue
		}
		kind, lo, hi := trace.KindSend, 0, i // a recv's bytes were sent before it
		if e.EOF {
			kind = trace.KindShutdown
		}
		if e.Kind == trace.KindSend {
			kind, lo, hi = trace.KindRecv, i+1, len(evs)
		}
		if adjacent {
			if e.Kind == trace.KindSend {
				lo, hi = i+1, min(i+2, len(evs))
			} else {
				lo = max(i-1, 0)
			}
		}
		found := false
		for _, f := range evs[lo:hi] {
			if kind == trace.KindShutdown && f.Actor == far && f.Inferred && f.Kind == kind && f.Conn == e.Conn && f.How == "SHUT_WR" ||
				kind != trace.KindShutdown && matches(e, f, kind) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s's %s at seq %d (%d bytes at offset %d on %s): no inferred %s by %s", traced, e.Kind, e.Seq, e.Bytes, e.Offset, e.Conn, kind, far)
		}
	}
}

// inferredKinds lists far's inferred calls in order.
func inferredKinds(evs []trace.Event, far string) []string {
	var out []string
	for _, e := range evs {
		if e.Actor == far && e.Inferred {
			k := string(e.Kind)
			if e.EOF {
				k += "(eof)"
			}
			out = append(out, k)
		}
	}
	return out
}

func TestLabServesWhatTheFirstLineAsks(t *testing.T) {
	tests := []struct {
		name   string
		writes []string // with a pause between, so that they may arrive apart
		reply  string
	}{
		{name: "lines become the serviceclient's numbered results", writes: []string{"alice\nbob\n", "carol\n"}, reply: "1 alice\n2 bob\n3 carol\n"},
		{name: "blank lines and telnet's carriage returns are not names", writes: []string{"ada\r\n\r\ngrace"}, reply: "1 ada\n2 grace\n"},
		{name: "a first line of ECHO echoes every byte, that line too", writes: []string{"ECHO\nhello\n", "again\n"}, reply: "ECHO\nhello\nagain\n"},
		{name: "ECHO split across writes is still ECHO", writes: []string{"EC", "HO\r\nhi\n"}, reply: "ECHO\r\nhi\n"},
		{name: "ECHO without a newline at end of file echoes", writes: []string{"ECHO"}, reply: "ECHO"},
		{name: "a first line that only starts with ECHO names it", writes: []string{"ECHOES\n"}, reply: "1 ECHOES\n"},
		{name: "nothing sent gets nothing back", reply: ""},
	}
	lab, sessions := startTestLab(t, LabConfig{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialTest(t, lab.Addr())
			var sent string
			for _, w := range tt.writes {
				if _, err := io.WriteString(c, w); err != nil {
					t.Fatal(err)
				}
				sent += w
				time.Sleep(20 * time.Millisecond)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read the reply: %v", err)
			}
			if string(got) != tt.reply {
				t.Errorf("reply %q; want %q", got, tt.reply)
			}
			rec := nextSession(t, sessions)
			if rec.State != trace.StateDone {
				t.Fatalf("session %s (%s); want done", rec.State, rec.Error)
			}
			if rec.Scenario != "lab" || strings.Join(rec.Actors, ",") != "server,client" {
				t.Errorf("scenario %q, actors %v; want lab, [server client]", rec.Scenario, rec.Actors)
			}
			local := c.LocalAddr().String()
			if rec.Params["client"] != local || rec.Params["listen"] != lab.Addr().String() {
				t.Errorf("params %v; want client %s and listen %s", rec.Params, local, lab.Addr())
			}
			checkInvariants(t, rec, false)
			checkMirrored(t, rec.Events, "server", "client", true)
			if got := dataOf(rec.Events, trace.KindRecv, "server"); got != sent {
				t.Errorf("the server read %q; want what the client sent, %q", got, sent)
			}
			if got := dataOf(rec.Events, trace.KindSend, "server"); got != tt.reply {
				t.Errorf("the server wrote %q; want %q", got, tt.reply)
			}
			first := rec.Events[0]
			if first.Kind != trace.KindConnect || !first.Inferred || first.Local != local {
				t.Errorf("first event %+v; want the client's inferred connect from %s", first, local)
			}
			if second := rec.Events[1]; second.Kind != trace.KindAccept || second.Actor != "server" || second.Inferred || second.Conn != first.Conn || second.Peer != local {
				t.Errorf("second event %+v; want the server's accept of %s", second, first.Conn)
			}
			kinds := strings.Join(inferredKinds(rec.Events, "client"), " ")
			if !strings.HasPrefix(kinds, "connect") || !strings.Contains(kinds, "shutdown") || !strings.HasSuffix(kinds, "recv(eof) close") {
				t.Errorf("the client's inferred calls %q; want connect … shutdown … recv(eof) close", kinds)
			}
			last := rec.Events[len(rec.Events)-3]
			if last.Kind != trace.KindClose || last.Actor != "server" || last.Inferred {
				t.Errorf("third-last event %+v; want the server's close", last)
			}
		})
	}
}

func TestLabBoundsFailSessions(t *testing.T) {
	tests := []struct {
		name    string
		cfg     LabConfig
		client  func(t *testing.T, addr netip.AddrPort)
		wantErr string
		check   func(t *testing.T, rec trace.Record)
	}{
		{
			name: "an idle connection fails when the idle timeout passes",
			cfg:  LabConfig{IdleTimeout: 200 * time.Millisecond},
			client: func(t *testing.T, addr netip.AddrPort) {
				c := dialTest(t, addr)
				io.WriteString(c, "alice\n")
				if _, err := io.ReadAll(c); err != nil {
					t.Logf("the client's read: %v", err)
				}
			},
			wantErr: "idle for 200ms",
			check: func(t *testing.T, rec trace.Record) {
				var failed *trace.Event
				for i, e := range rec.Events {
					if e.Actor == "server" && e.Kind == trace.KindRecv && e.Err != "" {
						failed = &rec.Events[i]
					}
				}
				if failed == nil || !strings.Contains(failed.Err, "idle") {
					t.Errorf("no read of the server ended by the idle timeout: %+v", failed)
				}
			},
		},
		{
			name: "a client that sends more than the byte limit fails its session",
			cfg:  LabConfig{MaxBytes: 100},
			client: func(t *testing.T, addr netip.AddrPort) {
				c := dialTest(t, addr)
				c.Write(bytes.Repeat([]byte("x"), 300)) // may fail once the server closes
				c.CloseWrite()
				io.ReadAll(c)
			},
			wantErr: "more than 100 bytes",
			check: func(t *testing.T, rec trace.Record) {
				if got := len(dataOf(rec.Events, trace.KindRecv, "server")); got != 101 {
					t.Errorf("the server read %d bytes; want 101, one past the limit and no more", got)
				}
				if got := dataOf(rec.Events, trace.KindSend, "server"); got != "" {
					t.Errorf("the server replied %q; want no reply", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lab, sessions := startTestLab(t, tt.cfg)
			tt.client(t, lab.Addr())
			rec := failedSession(t, sessions)
			if rec.State != trace.StateFailed || !strings.Contains(rec.Error, tt.wantErr) {
				t.Fatalf("session %s (%q); want failed with %q", rec.State, rec.Error, tt.wantErr)
			}
			last := rec.Events[len(rec.Events)-2]
			if last.Kind != trace.KindClose || last.Actor != "server" {
				t.Errorf("second-last event %+v; want the server's close", last)
			}
			if tt.check != nil {
				tt.check(t, rec)
			}
		})
	}
}

// TestLabRefusesConnectionsOverItsLimits checks that a connection over a
// limit is refused before it becomes a session: the client reads why, then
// end of file, and no session is shown, kept or saved for it.
func TestLabRefusesConnectionsOverItsLimits(t *testing.T) {
	tests := []struct {
		name    string
		cfg     LabConfig
		held    int    // connections opened and kept first
		closed  int    // connections opened and closed first
		sends   string // what the refused client sends at once, as nc does its input
		wantErr string
	}{
		{"one connection too many at once from one address is refused", LabConfig{MaxConnsPerIP: 1}, 1, 0, "", "at most 1 at once from one address"},
		{"one connection too many at once in all is refused", LabConfig{MaxConns: 2}, 2, 0, "", "at most 2 at once"},
		{"one connection too many in a minute from one address is refused", LabConfig{MaxConnsPerMinute: 3}, 0, 3, "", "at most 3 a minute"},
		{"a refused client that sends at once still reads why", LabConfig{MaxConnsPerIP: 1}, 1, 0, "alice\nbob\n", "at most 1 at once from one address"},
		{"a refused client that sends 120 KB at once still reads why", LabConfig{MaxConnsPerIP: 1}, 1, 0, strings.Repeat("alice\n", 20_000), "at most 1 at once from one address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lab, sessions := startTestLab(t, tt.cfg)
			for range tt.held {
				dialTest(t, lab.Addr()) // served, and idle until the test ends
				<-sessions
			}
			for range tt.closed {
				c := dialTest(t, lab.Addr())
				c.CloseWrite()
				io.ReadAll(c)
				<-sessions
			}
			c := dialTest(t, lab.Addr())
			if tt.sends != "" {
				// As nc does: all its input first. A write that fails
				// (the server's close answered with a reset) ends such a
				// client before it reads why.
				if _, err := c.Write([]byte(tt.sends)); err != nil {
					t.Errorf("sending %d bytes to the refused connection: %v; want them taken, and the reason then read", len(tt.sends), err)
				}
				time.Sleep(50 * time.Millisecond) // nc reading the end of its input
				if err := c.CloseWrite(); err != nil {
					t.Errorf("shutting down the refused connection's writing after %d bytes: %v; want it open until the client has read why (nc -N stops at such an error)", len(tt.sends), err)
				}
			}
			got, err := io.ReadAll(c)
			if !strings.Contains(string(got), tt.wantErr) {
				t.Errorf("the refused client read %q (%v); want the reason, %q", got, err, tt.wantErr)
			}
			select {
			case s := <-sessions:
				t.Errorf("the refused connection became session %s (%s)", s.ID(), s.Scenario())
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}

func TestLabModeOf(t *testing.T) {
	tests := []struct {
		in   string
		eof  bool
		want labMode
	}{
		{"", false, labUndecided},
		{"E", false, labUndecided},
		{"ECHO", false, labUndecided},
		{"ECHO\r", false, labUndecided},
		{"ECHO\n", false, labEcho},
		{"ECHO\r\nmore", false, labEcho},
		{"ECHO", true, labEcho},
		{"ECHOES", false, labService},
		{"echo\n", false, labService},
		{"X", false, labService},
		{"EC", true, labService},
		{" ECHO\n", false, labService},
	}
	for _, tt := range tests {
		if got := labModeOf([]byte(tt.in), tt.eof); got != tt.want {
			t.Errorf("labModeOf(%q, eof %v) = %d; want %d", tt.in, tt.eof, got, tt.want)
		}
	}
}

// TestLabMakesRoomForAnotherAddress fills the lab from one address with
// connections held open, then connects from another: the newcomer must be
// served, not refused, and the first address's oldest session must end
// saying why.
func TestLabMakesRoomForAnotherAddress(t *testing.T) {
	lab, sessions := startTestLab(t, LabConfig{MaxConns: 4, MaxConnsPerIP: 8})
	from := func(src string) *net.TCPConn {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", lab.Addr().String())
		if err != nil {
			t.Fatalf("dial from %s: %v", src, err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c.(*net.TCPConn)
	}
	var held []*trace.Session
	for range 4 {
		from("127.0.0.2") // held open, idle
		held = append(held, <-sessions)
	}
	c := from("127.0.0.1")
	select {
	case s := <-sessions:
		c.CloseWrite()
		if rec := nextSessionOf(t, s); rec.State == trace.StateFailed {
			t.Errorf("the newcomer's session failed: %s", rec.Error)
		}
	case <-time.After(5 * time.Second):
		b, _ := io.ReadAll(c)
		t.Fatalf("the newcomer from another address got no session (it read %q); want a place made for it", b)
	}
	select {
	case <-held[0].Done():
		if m := held[0].Meta(); m.State != trace.StateFailed || !strings.Contains(m.Error, "make room for another address") {
			t.Errorf("the full address's oldest session ended %s (%q); want failed, saying it made room", m.State, m.Error)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the full address's oldest session was not ended to make room")
	}
	for _, s := range held[1:] {
		if m := s.Meta(); m.State != trace.StateRunning {
			t.Errorf("a newer session of the full address ended too (%s, %q); want only the oldest", m.State, m.Error)
		}
	}
}

// nextSessionOf waits for s to end and returns it.
func nextSessionOf(t *testing.T, s *trace.Session) trace.Record {
	t.Helper()
	select {
	case <-s.Done():
		return s.Snapshot()
	case <-time.After(10 * time.Second):
		t.Fatalf("session %s did not end within 10 s", s.ID())
	}
	return trace.Record{}
}
