package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"seqd/web"
)

// post sends body to url with the trace token (none when token is "").
func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, b := send(t, req)
	return resp.StatusCode, string(b)
}

// eventLine is one NDJSON line of n sends, from seq from on.
func eventLine(from, n, size int) string {
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"seq":%d,"t_ns":%d,"actor":"client","kind":"send","fd":3,"ret":%d,"bytes":%d,"offset":%d,"data":%q}`,
			from+i, from+i, size, size, (from+i)*size, strings.Repeat("x", size)))
	}
	return `{"actors":["client"],"events":[` + strings.Join(evs, ",") + "]}\n"
}

func TestPublishedTraces(t *testing.T) {
	t.Run("a server without a trace token takes none", func(t *testing.T) {
		ts := newTestServer(t, web.Config{})
		if code, body := post(t, ts.URL+"/api/trace", "anything", `{"params":{}}`); code != http.StatusNotFound || !strings.Contains(body, "-trace-token") {
			t.Errorf("POST /api/trace: %d %s, want 404 naming -trace-token", code, body)
		}
	})
	ts := newTestServer(t, web.Config{TraceToken: "tok", TraceBytes: 64 << 10})
	create := func(t *testing.T) string {
		t.Helper()
		code, body := post(t, ts.URL+"/api/trace", "tok", `{"params":{"programs":["./client"]}}`)
		var created struct{ ID, URL string }
		if err := json.Unmarshal([]byte(body), &created); code != http.StatusCreated || err != nil || created.URL != "/s/"+created.ID {
			t.Fatalf("POST /api/trace: %d %s", code, body)
		}
		return created.ID
	}
	state := func(t *testing.T, id string) (string, string, int) {
		t.Helper()
		resp, body := do(t, http.MethodGet, ts.URL+"/api/sessions/"+id, "", "")
		var rec struct {
			State, Error string
			Events       []json.RawMessage
		}
		if err := json.Unmarshal(body, &rec); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET the session: %d %s", resp.StatusCode, body)
		}
		return rec.State, rec.Error, len(rec.Events)
	}
	t.Run("a wrong token is refused", func(t *testing.T) {
		if code, _ := post(t, ts.URL+"/api/trace", "nope", `{}`); code != http.StatusUnauthorized {
			t.Errorf("POST /api/trace with a wrong token: %d, want 401", code)
		}
	})
	t.Run("the events sent are the session's, and its final line ends it", func(t *testing.T) {
		id := create(t)
		body := eventLine(0, 3, 10) + eventLine(3, 2, 10) + `{"final":true,"state":"done"}` + "\n"
		if code, resp := post(t, ts.URL+"/api/trace/"+id+"/events", "tok", body); code != http.StatusOK {
			t.Fatalf("POST events: %d %s", code, resp)
		}
		if st, _, n := state(t, id); st != "done" || n != 5 {
			t.Errorf("the session: %s with %d events, want done with 5", st, n)
		}
		if code, _ := post(t, ts.URL+"/api/trace/"+id+"/events", "tok", body); code != http.StatusConflict {
			t.Errorf("sending an ended trace's events again: %d, want 409", code)
		}
	})
	t.Run("a traced program's calls carry no class votes, whatever the tracer sends", func(t *testing.T) {
		id := create(t)
		asked := `"answer":"eof","asked":{"text":"made up","choices":["a","b"],"choice_ids":["data","eof"],"tally":[0,999999]}`
		line := `{"actors":["client"],"events":[{"seq":0,"t_ns":1,"actor":"client","kind":"recv","fd":3,"ret":0,"eof":true,` + asked + `}]}` + "\n"
		if code, resp := post(t, ts.URL+"/api/trace/"+id+"/events", "tok", line+`{"final":true,"state":"done"}`+"\n"); code != http.StatusOK {
			t.Fatalf("POST events: %d %s", code, resp)
		}
		_, body := do(t, http.MethodGet, ts.URL+"/api/sessions/"+id, "", "")
		if strings.Contains(string(body), "made up") || strings.Contains(string(body), `"answer"`) {
			t.Errorf("the published session shows the tracer's votes: %s", body)
		}
	})
	t.Run("a trace past the server's budget fails, its events so far kept", func(t *testing.T) {
		id := create(t)
		code, resp := post(t, ts.URL+"/api/trace/"+id+"/events", "tok", eventLine(0, 200, 1000))
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("POST 200 KB of events to a 64 KiB budget: %d %s, want 413", code, resp)
		}
		if st, msg, _ := state(t, id); st != "failed" || !strings.Contains(msg, "budget") {
			t.Errorf("the session: %s (%s), want failed past the budget", st, msg)
		}
	})
	t.Run("events that end without a final line fail the session", func(t *testing.T) {
		id := create(t)
		if code, _ := post(t, ts.URL+"/api/trace/"+id+"/events", "tok", eventLine(0, 1, 10)); code != http.StatusBadRequest {
			t.Errorf("events without a final line: %d, want 400", code)
		}
		if st, msg, _ := state(t, id); st != "failed" || !strings.Contains(msg, "final") {
			t.Errorf("the session: %s (%s), want failed, no final line", st, msg)
		}
	})
}
