package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// newTestServer serves seqd with real sockets behind it. Its sessions may
// take 64 MiB each, for the tests that need sessions heavier than every
// buffer between the server and a viewer.
func newTestServer(t *testing.T, cfg web.Config) *httptest.Server {
	t.Helper()
	return newServerWith(t, &netcore.Runner{Timeout: 30 * time.Second, MaxBytes: 64 << 20}, cfg)
}

func do(t *testing.T, method, url, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return send(t, req)
}

// send makes req (within 10 s) and returns its response with the body read.
func send(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// createSession starts a session through the API and returns its id.
func createSession(t *testing.T, base, body string) string {
	t.Helper()
	resp, b := do(t, "POST", base+"/api/sessions", "application/json", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/sessions %s: %d %s", body, resp.StatusCode, b)
	}
	var out struct{ ID, URL, State string }
	if err := json.Unmarshal(b, &out); err != nil || !trace.ValidID(out.ID) || out.URL != "/s/"+out.ID {
		t.Fatalf("creation response %s: %v", b, err)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/sessions/"+out.ID {
		t.Errorf("Location %q; want /api/sessions/%s", loc, out.ID)
	}
	return out.ID
}

// waitDone polls the session until it has finished and returns it.
func waitDone(t *testing.T, base, id string) trace.Record {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, b := do(t, "GET", base+"/api/sessions/"+id, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET session: %d %s", resp.StatusCode, b)
		}
		var rec trace.Record
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.State != trace.StateRunning {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s still running after 20 s", id)
		}
		time.Sleep(20 * time.Millisecond) // polling an HTTP API: nothing to wait on
	}
}

func TestAPIErrors(t *testing.T) {
	for _, r := range runners {
		t.Run("on "+r.name, func(t *testing.T) {
			ts := newServerWith(t, r.make(), web.Config{MaxBody: 1024})
			big := `{"scenario":"serviceclient","params":{"names":["` + strings.Repeat("x", 2000) + `"]}}`
			tests := []struct {
				name, method, path, ctype, body string
				status                          int
				mention                         string // the error must say this
			}{
				{"malformed JSON is a 400", "POST", "/api/sessions", "application/json", `{"scenario":`, 400, "not valid JSON"},
				{"an empty body is a 400", "POST", "/api/sessions", "application/json", ``, 400, "empty"},
				{"a missing scenario is a 400", "POST", "/api/sessions", "application/json", `{"params":{}}`, 400, "scenario"},
				{"an unknown field is a 400", "POST", "/api/sessions", "application/json", `{"scenario":"echo","pace":3}`, 400, "pace"},
				{"an unknown parameter is a 400 naming it", "POST", "/api/sessions", "application/json", `{"scenario":"echo","params":{"loops":3}}`, 400, "loops"},
				{"an ill-typed parameter is a 400 naming it", "POST", "/api/sessions", "application/json", `{"scenario":"echo","params":{"rounds":"three"}}`, 400, "rounds"},
				{"a parameter out of its limits is a 400 naming it", "POST", "/api/sessions", "application/json", `{"scenario":"echo","params":{"rounds":100000}}`, 400, "rounds"},
				{"a fractional count is a 400", "POST", "/api/sessions", "application/json", `{"scenario":"concurrent","params":{"clients":2.5}}`, 400, "clients"},
				{"params that are not an object are a 400", "POST", "/api/sessions", "application/json", `{"scenario":"echo","params":[1]}`, 400, `"params" must be an object`},
				{"a count of 600 digits is a 400 that quotes a few", "POST", "/api/sessions", "application/json", `{"scenario":"echo","params":{"rounds":` + strings.Repeat("9", 600) + `}}`, 400, "must be between 1 and 1000, not 999999999999999999999999…"},
				{"an unknown scenario's long name is quoted cut", "POST", "/api/sessions", "application/json", `{"scenario":"` + strings.Repeat("f", 600) + `"}`, 404, strings.Repeat("f", 64) + "…"},
				{"a long before= is quoted cut", "GET", "/api/sessions?before=" + strings.Repeat("b", 600), "", "", 400, strings.Repeat("b", 40) + "…"},
				{"two JSON values are a 400", "POST", "/api/sessions", "application/json", `{"scenario":"echo"}{"scenario":"echo"}`, 400, "more than one"},
				{"an unknown scenario is a 404", "POST", "/api/sessions", "application/json", `{"scenario":"ftp"}`, 404, "ftp"},
				{"an oversized body is a 413", "POST", "/api/sessions", "application/json", big, 413, "larger than 1024"},
				{"a body that is not JSON by type is a 415", "POST", "/api/sessions", "text/plain", `{"scenario":"echo"}`, 415, "application/json"},
				{"an unknown session is a 404", "GET", "/api/sessions/" + trace.NewID(), "", "", 404, "no session"},
				{"a malformed session id is a 404", "GET", "/api/sessions/..%2f..%2fetc", "", "", 404, "no session"},
				{"an unknown endpoint is a 404", "GET", "/api/nothing", "", "", 404, "no API endpoint"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					resp, b := do(t, tt.method, ts.URL+tt.path, tt.ctype, tt.body)
					if resp.StatusCode != tt.status {
						t.Errorf("status %d; want %d (body %s)", resp.StatusCode, tt.status, b)
					}
					var e struct{ Error string }
					if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
						t.Fatalf("body %q is not a JSON error: %v", b, err)
					}
					if !strings.Contains(e.Error, tt.mention) {
						t.Errorf("error %q does not mention %q", e.Error, tt.mention)
					}
					if len(e.Error) > 300 {
						t.Errorf("error of %d bytes; want a sentence, not the request quoted back whole", len(e.Error))
					}
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("Content-Type %q; want application/json", ct)
					}
				})
			}
		})
	}
}

func TestAPISessions(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	t.Run("healthz answers 200", func(t *testing.T) {
		if resp, _ := do(t, "GET", ts.URL+"/healthz", "", ""); resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("scenarios lists all eight with typed parameters", func(t *testing.T) {
		_, b := do(t, "GET", ts.URL+"/api/scenarios", "", "")
		var list []trace.ScenarioInfo
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatal(err)
		}
		want := []string{"serviceclient", "echo", "http", "stream", "refused", "reset", "concurrent", "backpressure"}
		if len(list) != len(want) {
			t.Fatalf("%d scenarios; want %d", len(list), len(want))
		}
		for i, sc := range list {
			if sc.Name != want[i] || sc.Title == "" || sc.Summary == "" {
				t.Errorf("scenario %d: %+v", i, sc)
			}
			if p := sc.Params[len(sc.Params)-1]; p.Name != "pace_ms" || p.Max != 2000 || p.Help == "" {
				t.Errorf("%s: last parameter %+v; want pace_ms 0–2000", sc.Name, p)
			}
		}
	})
	t.Run("a created session runs at once and is readable with its events", func(t *testing.T) {
		id := createSession(t, ts.URL, `{"scenario":"serviceclient","params":{"names":["ada","grace"]}}`)
		rec := waitDone(t, ts.URL, id)
		if rec.State != trace.StateDone || len(rec.Events) < 15 || rec.Scenario != "serviceclient" {
			t.Fatalf("session: state %s, %d events", rec.State, len(rec.Events))
		}
		if got := rec.Params["names"]; got == nil {
			t.Errorf("params %v lack names", rec.Params)
		}
		if len(rec.Actors) != 2 || rec.StartedAt.IsZero() {
			t.Errorf("actors %v, started_at %v", rec.Actors, rec.StartedAt)
		}
	})
	t.Run("exports are text", func(t *testing.T) {
		id := createSession(t, ts.URL, `{"scenario":"echo"}`)
		waitDone(t, ts.URL, id)
		for _, tc := range []struct{ path, want string }{{"mermaid", "sequenceDiagram"}, {"ladder", "server"}} {
			resp, b := do(t, "GET", ts.URL+"/api/sessions/"+id+"/"+tc.path, "", "")
			if resp.StatusCode != 200 || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s: %d %q", tc.path, resp.StatusCode, b)
			}
		}
	})
}

func TestPagesAndHeaders(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	tests := []struct {
		path, ctype, frame string
	}{
		{"/", "text/html", "frame-ancestors 'self'"},
		{"/s/" + trace.NewID(), "text/html", "frame-ancestors 'self'"},
		{"/embed/echo", "text/html", "frame-ancestors *"},
		{"/embed/s/" + trace.NewID(), "text/html", "frame-ancestors *"},
		{"/seq-diagram.js", "text/javascript", "frame-ancestors 'self'"},
		{"/app.js", "text/javascript", "frame-ancestors 'self'"},
		{"/style.css", "text/css", "frame-ancestors 'self'"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" is served with its security headers", func(t *testing.T) {
			resp, _ := do(t, "GET", ts.URL+tt.path, "", "")
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) {
				t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, tt.frame) || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q; want %q", csp, tt.frame)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
				t.Errorf("missing nosniff or Referrer-Policy: %v", resp.Header)
			}
		})
	}
	t.Run("the element module may be loaded by any course page", func(t *testing.T) {
		resp, _ := do(t, "GET", ts.URL+"/seq-diagram.js", "", "")
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("no CORS on /seq-diagram.js")
		}
	})
	t.Run("frame ancestors bound who may frame embeds; allowed origins do not", func(t *testing.T) {
		ts := newTestServer(t, web.Config{FrameAncestors: []string{"https://course.example.edu"}})
		resp, _ := do(t, "GET", ts.URL+"/embed/echo", "", "")
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self' https://course.example.edu") {
			t.Errorf("CSP %q", csp)
		}
		ts = newTestServer(t, web.Config{AllowedOrigins: []string{"https://course.example.edu"}})
		resp, _ = do(t, "GET", ts.URL+"/embed/echo", "", "")
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") {
			t.Errorf("with allowed origins, CSP %q; want any page may still frame embeds", csp)
		}
	})
	t.Run("reading a session answers any origin; starting one does not", func(t *testing.T) {
		id := createSession(t, ts.URL, `{"scenario":"refused"}`)
		waitDone(t, ts.URL, id)
		req, _ := http.NewRequest("GET", ts.URL+"/api/sessions/"+id, nil)
		req.Header.Set("Origin", "https://lms.example.org")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("GET a session from another origin: Access-Control-Allow-Origin %q; want *", got)
		}
		req, _ = http.NewRequest("OPTIONS", ts.URL+"/api/sessions", nil)
		req.Header.Set("Origin", "https://lms.example.org")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("a preflight to start a session from another origin: Access-Control-Allow-Origin %q; want none", got)
		}
	})
	t.Run("a bad allowed origin is refused at start", func(t *testing.T) {
		if _, err := web.New(&netcore.Runner{}, &trace.Store{}, web.Config{AllowedOrigins: []string{"course.example.edu"}}); err == nil {
			t.Errorf("New accepted an origin without a scheme")
		}
	})
}

func TestRecentSessionsAreListedNewestFirst(t *testing.T) {
	ts := newServerWith(t, &fakeRunner{Runner: &netcore.Runner{}}, web.Config{})
	var ids []string
	for range 5 {
		id := createSession(t, ts.URL, `{"scenario":"echo","params":{"rounds":1}}`)
		waitDone(t, ts.URL, id) // running ones are not listed
		ids = append(ids, id)
	}
	type list struct {
		Sessions []struct {
			ID, URL string
		}
	}
	get := func(query string) list {
		resp, b := do(t, "GET", ts.URL+"/api/sessions"+query, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/sessions%s: %d %s", query, resp.StatusCode, b)
		}
		var l list
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	first := get("?limit=3")
	if len(first.Sessions) != 3 || first.Sessions[0].ID != ids[4] || first.Sessions[2].ID != ids[2] || first.Sessions[0].URL != "/s/"+ids[4] {
		t.Errorf("first page %+v; want the newest 3 of %v, newest first", first.Sessions, ids)
	}
	next := get("?limit=3&before=" + ids[2])
	if len(next.Sessions) != 2 || next.Sessions[0].ID != ids[1] || next.Sessions[1].ID != ids[0] {
		t.Errorf("next page %+v; want the 2 before %s", next.Sessions, ids[2])
	}
	if resp, _ := do(t, "GET", ts.URL+"/api/sessions?limit=1000", "", ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("limit=1000: %d; want 400", resp.StatusCode)
	}
}

func TestAnOverlongPacedSessionIsRefused(t *testing.T) {
	ts := newServerWith(t, &fakeRunner{Runner: &netcore.Runner{}}, web.Config{})
	resp, b := do(t, "POST", ts.URL+"/api/sessions", "application/json", `{"scenario":"echo","params":{"rounds":1000,"pace_ms":2000}}`)
	var e struct{ Error string }
	_ = json.Unmarshal(b, &e)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, `"pace_ms"`) || !strings.Contains(e.Error, "rounds") {
		t.Errorf("echo of 1,000 rounds at 2 s a call: %d %s; want 400 naming pace_ms and rounds", resp.StatusCode, b)
	}
	// The creation response estimates how long an accepted one takes.
	_, b = do(t, "POST", ts.URL+"/api/sessions", "application/json", `{"scenario":"echo","params":{"rounds":3,"pace_ms":100}}`)
	var m trace.Meta
	_ = json.Unmarshal(b, &m)
	if m.ExpectedEvents <= 0 || m.ExpectedNs <= 0 {
		t.Errorf("creation response %s; want expected_events and expected_ns", b)
	}
}
