package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"seqd/trace"
	"seqd/web"
)

// stepSession creates a stepped session and returns its id and token.
func stepSession(t *testing.T, base, body string) (string, string) {
	t.Helper()
	resp, b := do(t, "POST", base+"/api/sessions", "application/json", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var out struct {
		ID        string `json:"id"`
		StepToken string `json:"step_token"`
		Step      bool   `json:"step"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.StepToken == "" || !out.Step {
		t.Fatalf("creation response %s lacks a step token: %v", b, err)
	}
	return out.ID, out.StepToken
}

func stepReq(t *testing.T, base, id, path, token string) (*http.Response, trace.Meta) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/sessions/"+id+"/"+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m trace.Meta
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

// waitPending waits until the session shows a pending call (or has ended).
func waitPending(t *testing.T, base, id string) trace.Meta {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := getRecord(t, base, id)
		if rec.Pending != nil || rec.State != trace.StateRunning {
			return rec.Meta
		}
		if time.Now().After(deadline) {
			t.Fatal("no pending call after 10 s")
		}
		time.Sleep(5 * time.Millisecond) // polling the API
	}
}

func TestStepMode(t *testing.T) {
	for _, r := range runners {
		t.Run("on "+r.name, func(t *testing.T) {
			ts := newServerWith(t, r.make(), web.Config{})
			id, token := stepSession(t, ts.URL, `{"scenario":"serviceclient","step":true}`)

			t.Run("a step without the token is refused with 403", func(t *testing.T) {
				for _, tok := range []string{"", "not-the-token"} {
					if resp, _ := stepReq(t, ts.URL, id, "step", tok); resp.StatusCode != http.StatusForbidden {
						t.Errorf("step with token %q: %d; want 403", tok, resp.StatusCode)
					}
				}
			})
			t.Run("a step for a call no longer shown is refused with 412 and lets nothing through", func(t *testing.T) {
				m := waitPending(t, ts.URL, id)
				stale := fmt.Sprintf("step?pending=%d", m.Pending.N+1000)
				if resp, _ := stepReq(t, ts.URL, id, stale, token); resp.StatusCode != http.StatusPreconditionFailed {
					t.Errorf("a step for pending call %d while %d is shown: %d; want 412", m.Pending.N+1000, m.Pending.N, resp.StatusCode)
				}
				for _, bad := range []string{"none", "", "0"} {
					if resp, _ := stepReq(t, ts.URL, id, "step?pending="+bad, token); resp.StatusCode != http.StatusBadRequest {
						t.Errorf("a step for pending=%q: %d; want 400", bad, resp.StatusCode)
					}
				}
				if after := getRecord(t, ts.URL, id); len(after.Events) != m.Events {
					t.Errorf("%d events after the refused steps, %d before; want none made", len(after.Events), m.Events)
				}
				// The call shown, stepped once, is gone: a second step for it
				// (a key held down) is refused at once, whatever waits next.
				shown := fmt.Sprintf("step?pending=%d", m.Pending.N)
				if resp, _ := stepReq(t, ts.URL, id, shown, token); resp.StatusCode != http.StatusOK {
					t.Fatalf("the step for the call shown: %d; want 200", resp.StatusCode)
				}
				if resp, _ := stepReq(t, ts.URL, id, shown, token); resp.StatusCode != http.StatusPreconditionFailed {
					t.Errorf("a second step for pending call %d: %d; want 412", m.Pending.N, resp.StatusCode)
				}
				if after := getRecord(t, ts.URL, id); len(after.Events) != m.Events+1 {
					t.Errorf("%d events after one step and one refused, %d before; want one more", len(after.Events), m.Events)
				}
			})
			t.Run("each step makes exactly one call, the one shown as pending", func(t *testing.T) {
				type shownCall struct {
					actor string
					kind  trace.Kind
					line  int
				}
				numbered := map[int]shownCall{} // n → the call shown with it
				lastN := 0
				for i, changed := 0, 0; ; i++ {
					m := waitPending(t, ts.URL, id)
					if m.State != trace.StateRunning {
						break
					}
					pending := *m.Pending
					if pending.Line == 0 || pending.Src == "" || pending.N < 1 {
						t.Errorf("pending call %+v names no line or has no number", pending)
					}
					// One number, one call; numbers only grow.
					c := shownCall{pending.Actor, pending.Kind, pending.Line}
					if was, ok := numbered[pending.N]; ok && was != c {
						t.Errorf("pending call %d was %+v and is now %+v", pending.N, was, c)
					}
					if pending.N < lastN {
						t.Errorf("pending call %d shown after %d", pending.N, lastN)
					}
					numbered[pending.N], lastN = c, pending.N
					// The step is for the call read: if another took its place
					// in between (a call that will not block arrived), the
					// server says so and the step is taken again.
					resp, after := stepReq(t, ts.URL, id, fmt.Sprintf("step?pending=%d", pending.N), token)
					if resp.StatusCode == http.StatusPreconditionFailed && changed < 10 {
						changed++
						i--
						continue
					}
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("step %d: %d", i, resp.StatusCode)
					}
					rec := getRecord(t, ts.URL, id)
					if after.Events != m.Events+1 {
						t.Errorf("step %d: %d events after, %d before; want exactly one more", i, after.Events, m.Events)
					}
					if e := rec.Events[m.Events]; e.Actor != pending.Actor || e.Kind != pending.Kind || e.Line != pending.Line {
						t.Errorf("step %d made %s %s (line %d); pending was %s %s (line %d)", i, e.Actor, e.Kind, e.Line, pending.Actor, pending.Kind, pending.Line)
					}
					if i > 100 {
						t.Fatal("more than 100 steps")
					}
				}
				if rec := getRecord(t, ts.URL, id); rec.State != trace.StateDone {
					t.Errorf("after stepping: %s %s", rec.State, rec.Error)
				}
			})
			t.Run("stepping a finished session is a 409", func(t *testing.T) {
				if resp, _ := stepReq(t, ts.URL, id, "step", token); resp.StatusCode != http.StatusConflict {
					t.Errorf("step after the end: %d; want 409", resp.StatusCode)
				}
			})
			t.Run("run releases the rest", func(t *testing.T) {
				id, token := stepSession(t, ts.URL, `{"scenario":"echo","step":true}`)
				waitPending(t, ts.URL, id)
				if resp, _ := stepReq(t, ts.URL, id, "run", token); resp.StatusCode != http.StatusOK {
					t.Fatalf("run: %d", resp.StatusCode)
				}
				if rec := waitDone(t, ts.URL, id); rec.State != trace.StateDone {
					t.Errorf("after run: %s", rec.State)
				}
			})
			t.Run("questions need step mode", func(t *testing.T) {
				resp, b := do(t, "POST", ts.URL+"/api/sessions", "application/json", `{"scenario":"echo","questions":true}`)
				if resp.StatusCode != 400 || !strings.Contains(string(b), "step") {
					t.Errorf("%d %s", resp.StatusCode, b)
				}
			})
		})
	}
}

func TestQuestions(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	id, token := stepSession(t, ts.URL, `{"scenario":"refused","step":true,"questions":true}`)
	// Step until the connect to the port nobody listens on is pending.
	for {
		m := waitPending(t, ts.URL, id)
		if m.State != trace.StateRunning {
			t.Fatal("the session ended without asking about connect")
		}
		if m.Pending.Kind == trace.KindConnect {
			q := m.Pending.Question
			if q == nil || len(q.Choices) < 3 || !strings.Contains(strings.Join(q.Choices, " "), "ECONNREFUSED") {
				t.Fatalf("pending connect asks %+v; want a question offering ECONNREFUSED", q)
			}
			break
		}
		stepReq(t, ts.URL, id, "step", token)
	}
	ann, bo := viewerToken(t, ts.URL, id), viewerToken(t, ts.URL, id)
	for i, viewer := range []string{ann, bo, ann} { // ann changes her mind
		resp, b := do(t, "POST", ts.URL+"/api/sessions/"+id+"/answer", "application/json", `{"viewer":"`+viewer+`","choice":`+[]string{"0", "2", "2"}[i]+`}`)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("answer: %d %s", resp.StatusCode, b)
		}
	}
	if tally := getRecord(t, ts.URL, id).Pending.Question.Tally; tally[2] != 2 || tally[0] != 0 {
		t.Errorf("tally %v; want two answers for choice 2", tally)
	}
	if resp, _ := do(t, "POST", ts.URL+"/api/sessions/"+id+"/answer", "application/json", `{"viewer":"`+bo+`","choice":9}`); resp.StatusCode != http.StatusConflict {
		t.Errorf("an answer out of range: %d; want 409", resp.StatusCode)
	}
	stepReq(t, ts.URL, id, "step", token)
	rec := getRecord(t, ts.URL, id)
	if last := rec.Events[len(rec.Events)-1]; last.Kind != trace.KindConnect || last.Errno != "ECONNREFUSED" {
		t.Errorf("the revealed call: %s %s", last.Kind, last.Errno)
	}
}

// viewerToken opens a viewer's stream of session id, kept open until the
// test ends (a token is good only while its stream is), and returns the
// token its first message hands out for answering questions.
func viewerToken(t *testing.T, base, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dialStream(ctx, t, base, id)
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var first struct{ Viewer string }
	if err := json.Unmarshal(b, &first); err != nil || first.Viewer == "" {
		t.Fatalf("first message %s hands out no viewer token: %v", b, err)
	}
	return first.Viewer
}
