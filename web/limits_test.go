package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"seqd/trace"
	"seqd/web"
)

// slowSession keeps a session running long enough to hold its place.
const slowSession = `{"scenario":"echo","params":{"rounds":50,"pace_ms":100}}`

func TestLimits(t *testing.T) {
	for _, r := range runners {
		t.Run("on "+r.name, func(t *testing.T) {
			tests := []struct {
				name    string
				limits  web.Limits
				first   int // sessions that must be accepted
				status  int // the answer to the next one
				mention string
			}{
				{"the server's running limit answers 503", web.Limits{MaxRunning: 2}, 2, http.StatusServiceUnavailable, "most"},
				{"one address's running limit answers 429", web.Limits{MaxRunningPerIP: 1}, 1, http.StatusTooManyRequests, "running"},
				{"the creation rate answers 429", web.Limits{CreatePerMinute: 3}, 3, http.StatusTooManyRequests, "minute"},
			}
			for _, tt := range tests {
				t.Run(tt.name+" with Retry-After and a JSON error", func(t *testing.T) {
					ts := newServerWith(t, r.make(), web.Config{Limits: tt.limits})
					for i := 0; i < tt.first; i++ {
						createSession(t, ts.URL, slowSession)
					}
					resp, b := do(t, "POST", ts.URL+"/api/sessions", "application/json", slowSession)
					if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.mention) {
						t.Errorf("got %d %s; want %d mentioning %q", resp.StatusCode, b, tt.status, tt.mention)
					}
					if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra <= 0 {
						t.Errorf("Retry-After %q; want seconds", resp.Header.Get("Retry-After"))
					}
					if got := metric(t, ts.URL, `seqd_limits_hit_total`); got < 1 {
						t.Errorf("limits hit metric %v; want ≥ 1", got)
					}
				})
			}
			t.Run("a session's viewer limit closes the next viewer with 1008 and a reason", func(t *testing.T) {
				ts := newServerWith(t, r.make(), web.Config{Limits: web.Limits{MaxSubscribersPerSession: 1}})
				id := createSession(t, ts.URL, slowSession)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				first := dialStream(ctx, t, ts.URL, id)
				if _, _, err := first.Read(ctx); err != nil { // it holds its place
					t.Fatal(err)
				}
				_, _, err := dialStream(ctx, t, ts.URL, id).Read(ctx)
				var ce websocket.CloseError
				if !asCloseError(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "viewers") {
					t.Errorf("second viewer: %v; want close 1008 about viewers", err)
				}
			})
		})
	}
}

// TestLimitsCountAnAddressNotAConnection checks that a request whose
// address the middleware cannot read (a trusted proxy's malformed
// X-Forwarded-For) is counted by its peer's address, not by its
// connection: each new connection would otherwise be an address of its own.
func TestLimitsCountAnAddressNotAConnection(t *testing.T) {
	ts := newServerWith(t, runners[0].make(), web.Config{Limits: web.Limits{MaxRunningPerIP: 1}, TrustedProxies: []string{"127.0.0.0/8"}})
	post := func() (int, string) {
		req, _ := http.NewRequest("POST", ts.URL+"/api/sessions", strings.NewReader(slowSession))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "not-an-address")
		req.Close = true // a connection of its own each time
		resp, b := send(t, req)
		return resp.StatusCode, string(b)
	}
	if code, body := post(); code != http.StatusCreated {
		t.Fatalf("the first session: %d %s", code, body)
	}
	if code, body := post(); code != http.StatusTooManyRequests {
		t.Errorf("a second session on a new connection: %d %s, want 429 (one address)", code, body)
	}
}

func asCloseError(err error, ce *websocket.CloseError) bool {
	code := websocket.CloseStatus(err)
	if code == -1 {
		return false
	}
	ce.Code = code
	ce.Reason = err.Error()
	return true
}

// metric sums the samples of one metric on /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	_, b := do(t, "GET", base+"/metrics", "", "")
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+]+)$`)
	sum := 0.0
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		sum += v
	}
	return sum
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":2}}`)
	events, _ := follow(t, wsURL(ts.URL, id, ""), nil)
	checks := []struct {
		name string
		want float64
	}{
		{`seqd_sessions_started_total`, 1},
		{`seqd_sessions_finished_total`, 1},
		{`seqd_sessions_running`, 0},
		{`seqd_events_sent_total`, float64(len(events))},
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range checks {
		for metric(t, ts.URL, c.name) != c.want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // the watcher counts just after the session ends
		}
		if got := metric(t, ts.URL, c.name); got != c.want {
			t.Errorf("%s = %v; want %v", c.name, got, c.want)
		}
	}
}

func TestVanishedViewerIsDroppedByPing(t *testing.T) {
	ts := newTestServer(t, web.Config{PingInterval: 50 * time.Millisecond})
	id := createSession(t, ts.URL, slowSession)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A client that never reads never answers pings, like a phone whose
	// Wi-Fi dropped.
	dialStream(ctx, t, ts.URL, id)
	for metric(t, ts.URL, `seqd_subscribers_cut_off_total`) < 1 {
		if ctx.Err() != nil {
			t.Fatal("the silent viewer was never dropped")
		}
		time.Sleep(20 * time.Millisecond) // polling /metrics
	}
	if got := metric(t, ts.URL, `seqd_subscribers`); got != 0 {
		t.Errorf("seqd_subscribers = %v after the drop; want 0", got)
	}
}

func TestLimitsWithDefaults(t *testing.T) {
	def := reflect.ValueOf(web.DefaultLimits)
	for i := range def.NumField() {
		name := def.Type().Field(i).Name
		t.Run(name+" left zero takes its default, and one set is kept", func(t *testing.T) {
			if def.Field(i).Int() <= 0 {
				t.Fatalf("DefaultLimits.%s = %d: every limit needs a default above 0", name, def.Field(i).Int())
			}
			var zero web.Limits
			if got := reflect.ValueOf(zero.WithDefaults()).Field(i).Int(); got != def.Field(i).Int() {
				t.Errorf("zero %s became %d; want %d", name, got, def.Field(i).Int())
			}
			var set, negative web.Limits
			reflect.ValueOf(&set).Elem().Field(i).SetInt(7)
			reflect.ValueOf(&negative).Elem().Field(i).SetInt(-1)
			if got := reflect.ValueOf(set.WithDefaults()).Field(i).Int(); got != 7 {
				t.Errorf("%s set to 7 became %d", name, got)
			}
			if got := reflect.ValueOf(negative.WithDefaults()).Field(i).Int(); got != def.Field(i).Int() {
				t.Errorf("%s set to -1 became %d; want the default %d", name, got, def.Field(i).Int())
			}
		})
	}
}

// TestAFullServerMakesRoomForAnotherAddress fills the server's running
// places from one address (its bound per address as large as the server's,
// as for a lecture hall behind one NAT): another address's session still
// starts, in the place of the first address's oldest, which ends failed
// saying why; the first address gets no more, nor does the second once
// they hold about the same.
func TestAFullServerMakesRoomForAnotherAddress(t *testing.T) {
	for _, r := range runners {
		t.Run("on "+r.name, func(t *testing.T) {
			ts := newServerWith(t, r.make(), web.Config{Limits: web.Limits{MaxRunning: 4, MaxRunningPerIP: 4, CreatePerMinute: 100}, TrustedProxies: []string{"127.0.0.0/8"}})
			post := func(addr string) (int, string) {
				req, _ := http.NewRequest("POST", ts.URL+"/api/sessions", strings.NewReader(slowSession))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", addr)
				resp, b := send(t, req)
				var out struct{ ID string }
				json.Unmarshal(b, &out)
				if resp.StatusCode != http.StatusCreated {
					return resp.StatusCode, string(b)
				}
				return resp.StatusCode, out.ID
			}
			var hall []string
			for range 4 {
				code, id := post("10.0.0.1")
				if code != http.StatusCreated {
					t.Fatalf("the hall's session: %d %s", code, id)
				}
				hall = append(hall, id)
			}
			if code, id := post("10.0.0.2"); code != http.StatusCreated {
				t.Fatalf("another address's session on a full server: %d %s; want it started in the place of one of the hall's", code, id)
			}
			rec := waitDone(t, ts.URL, hall[0])
			if rec.State != "failed" || !strings.Contains(rec.Error, "make room") {
				t.Errorf("the hall's oldest session: %s %q; want failed, saying it made room", rec.State, rec.Error)
			}
			for _, id := range hall[1:] {
				_, b := do(t, "GET", ts.URL+"/api/sessions/"+id, "", "")
				var m trace.Meta
				json.Unmarshal(b, &m)
				if m.State != trace.StateRunning {
					t.Errorf("the hall's session %s: %s; want it still running", id, m.State)
				}
			}
			// 429 while the stopped session's place is still being given
			// back (just after its end), 503 once it is: no more either way.
			if code, body := post("10.0.0.1"); code != http.StatusServiceUnavailable && code != http.StatusTooManyRequests {
				t.Errorf("the hall again, the server full: %d %s; want it refused", code, body)
			}
			if code, id := post("10.0.0.2"); code != http.StatusCreated {
				t.Fatalf("the other address's second, holding 1 to the hall's 3: %d %s; want it started", code, id)
			}
			if code, body := post("10.0.0.2"); code != http.StatusServiceUnavailable {
				t.Errorf("the other address's third, holding 2 to the hall's 2: %d %s; want 503", code, body)
			}
		})
	}
}
