package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"seqd/netcore"
	"seqd/trace"
	"seqd/web"
)

// prepareOnly validates like netcore but never starts a session, so the
// fuzzer exercises the API's input handling without running thousands of
// exchanges.
type prepareOnly struct{ *netcore.Runner }

func (prepareOnly) Start(context.Context, *trace.Session) {}

// FuzzCreateSession sends arbitrary bodies to POST /api/sessions: every
// answer must be 201 or a 4xx with a JSON error, never a panic or a 500.
// The seeds in testdata/fuzz replay in every ordinary test run.
func FuzzCreateSession(f *testing.F) {
	for _, seed := range []string{
		`{"scenario":"serviceclient","params":{"names":["alice","bob"]}}`,
		`{"scenario":"echo","params":{"rounds":1e400}}`,
		`{"scenario":"echo","params":{"rounds":-0}}`,
		`{"scenario":"stream","params":{"size":1048576,"chunk":1,"writes":100,"pace_ms":2000}}`,
		`{"scenario":"serviceclient","params":{"names":[null]}}`,
		`{"scenario":"serviceclient","params":{"names":["\u0000"]}}`,
		`{"scenario":"` + strings.Repeat("a", 300) + `"}`,
		`[]`, `null`, `"x"`, `{"scenario":null}`, `{"params":null,"scenario":"http"}`,
	} {
		f.Add(seed)
	}
	srv, err := web.New(prepareOnly{&netcore.Runner{}}, &trace.Store{}, web.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "http://127.0.0.1/api/sessions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusCreated:
		case rec.Code >= 400 && rec.Code < 500:
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("status %d with body %q: not a JSON error", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
	})
}

// FuzzSessionPaths requests arbitrary session ids and from= values: every
// answer is a 404 or 400 with a JSON error.
func FuzzSessionPaths(f *testing.F) {
	for _, seed := range [][2]string{{"..%2f..%2fetc%2fpasswd", "0"}, {trace.NewID(), "-1"}, {"%00", "9999999999999"}, {"a", "1e3"}} {
		f.Add(seed[0], seed[1])
	}
	srv, err := web.New(prepareOnly{&netcore.Runner{}}, &trace.Store{}, web.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, id, from string) {
		for _, suffix := range []string{"", "/ws?from=" + from, "/mermaid"} {
			req, err := http.NewRequest("GET", "http://127.0.0.1/api/sessions/"+id+suffix, nil)
			if err != nil {
				return // not a URL at all: net/http would never route it
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest && rec.Code != http.StatusMovedPermanently {
				t.Fatalf("GET %s: status %d", req.URL, rec.Code)
			}
		}
	})
}
