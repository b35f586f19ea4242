package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"seqd/web"
)

func TestSegmentLayerThroughTheAPI(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	_, b := do(t, "GET", ts.URL+"/api/capabilities", "", "")
	var caps struct {
		Segments struct {
			Available bool
			Reason    string
		}
	}
	if err := json.Unmarshal(b, &caps); err != nil {
		t.Fatalf("capabilities %s: %v", b, err)
	}
	if !caps.Segments.Available {
		t.Run("without CAP_NET_RAW a segments request says why", func(t *testing.T) {
			if !strings.Contains(caps.Segments.Reason, "CAP_NET_RAW") {
				t.Errorf("reason %q", caps.Segments.Reason)
			}
			resp, b := do(t, "POST", ts.URL+"/api/sessions", "application/json", `{"scenario":"echo","segments":true}`)
			if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "CAP_NET_RAW") {
				t.Errorf("%d %s; want 409 naming CAP_NET_RAW", resp.StatusCode, b)
			}
		})
		return
	}
	t.Run("a session with segments exports them as pcapng", func(t *testing.T) {
		id := createSession(t, ts.URL, `{"scenario":"serviceclient","segments":true}`)
		rec := waitDone(t, ts.URL, id)
		n := 0
		for _, e := range rec.Events {
			if e.Kind == "segment" {
				n++
			}
		}
		if n < 3 {
			t.Fatalf("%d segments", n)
		}
		resp, b := do(t, "GET", ts.URL+"/api/sessions/"+id+"/pcapng", "", "")
		if resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte{0x0A, 0x0D, 0x0D, 0x0A}) {
			t.Errorf("pcapng: %d, %d bytes starting %x", resp.StatusCode, len(b), b[:min(8, len(b))])
		}
	})
	t.Run("a session without segments has no pcapng", func(t *testing.T) {
		id := createSession(t, ts.URL, `{"scenario":"echo"}`)
		waitDone(t, ts.URL, id)
		if resp, _ := do(t, "GET", ts.URL+"/api/sessions/"+id+"/pcapng", "", ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("pcapng of a session without segments: %d; want 404", resp.StatusCode)
		}
	})
}
