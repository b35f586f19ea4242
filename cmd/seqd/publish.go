package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"seqd/trace"
)

// publisher sends a session seqd trace records to a course server as it
// grows (web/publish.go has the protocol): url is where the class sees it.
type publisher struct {
	url  string
	done chan error
}

// startPublish creates the session on the course server at base and
// starts sending sess's events there; wait says how it went.
func startPublish(ctx context.Context, base, token string, sess *trace.Session, params map[string]any) (*publisher, error) {
	body, _ := json.Marshal(map[string]any{"params": params})
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, base+"/api/trace", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("-publish %s: %w", base, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("-publish %s: %w", base, err)
	}
	defer resp.Body.Close()
	var created struct {
		ID, URL, Error string
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&created)
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("-publish %s: %s: %s", base, resp.Status, created.Error)
	}
	p := &publisher{url: base + created.URL, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	// The upload lasts as long as the session, and a little after: its
	// owner is this goroutine, its end the session's final batch.
	go func() {
		req, err := http.NewRequest(http.MethodPost, base+"/api/trace/"+created.ID+"/events", pr)
		if err != nil {
			pr.CloseWithError(err)
			p.done <- err
			return
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Authorization", "Bearer "+token)
		go func() { pw.CloseWithError(sendEvents(sess, pw)) }()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			pr.CloseWithError(err)
			p.done <- err
			return
		}
		defer resp.Body.Close()
		var answer struct{ Error string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer)
		if resp.StatusCode != http.StatusOK {
			p.done <- fmt.Errorf("%s: %s", resp.Status, answer.Error)
			return
		}
		p.done <- nil
	}()
	return p, nil
}

// sendEvents writes sess's batches to w as NDJSON lines until its final
// one.
func sendEvents(sess *trace.Session, w io.Writer) error {
	sub := sess.Subscribe(0, 0)
	enc := json.NewEncoder(w)
	for {
		// The session ends when its programs do (Run finishes it on every
		// path), so this waits for nothing else.
		b, err := sub.Next(context.Background(), 0, 0)
		if err != nil {
			return err
		}
		if b.To > b.From {
			if err := enc.Encode(map[string]any{"actors": sess.Meta().Actors, "events": sess.Events(b.From, b.To)}); err != nil {
				return err
			}
		}
		if b.Final {
			return enc.Encode(map[string]any{"final": true, "state": b.State, "error": b.Error})
		}
	}
}

// wait returns once the course server has the whole session, or why not.
func (p *publisher) wait() error { return <-p.done }
