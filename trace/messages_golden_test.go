package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// goldenMessage is one pair of trace.Messages as testdata/NAME.messages.json
// holds it. The same files are the goldens of the page's byte-range
// pairing (web/jstest/layout.test.js runs the JavaScript layout over
// testdata/NAME.json and compares its arrows with them): one rule, tested
// twice against the same answers.
type goldenMessage struct {
	Conn    string `json:"conn"`
	From    string `json:"from"`
	To      string `json:"to"`
	SendSeq int    `json:"send_seq"`
	RecvSeq int    `json:"recv_seq"`
	Offset  int64  `json:"offset"`
	Bytes   int64  `json:"bytes"`
}

// messagesJSON is the golden text of msgs: a JSON array, one pair a line.
func messagesJSON(t *testing.T, msgs []Message) []byte {
	t.Helper()
	var b bytes.Buffer
	if len(msgs) == 0 {
		return []byte("[]\n") // refused connects, reset's bytes are never read
	}
	b.WriteString("[\n")
	for i, m := range msgs {
		line, err := json.Marshal(goldenMessage(m))
		if err != nil {
			t.Fatal(err)
		}
		sep := ","
		if i == len(msgs)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  %s%s\n", line, sep)
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// TestMessagesMatchGoldenFiles pairs the sends and recvs of each recorded
// session (testdata/*.json) by byte range and compares the pairs with
// testdata/NAME.messages.json; -update rewrites those.
func TestMessagesMatchGoldenFiles(t *testing.T) {
	for _, name := range goldenSessions {
		t.Run("the messages of "+name+" match "+name+".messages.json", func(t *testing.T) {
			rec := loadRecord(t, name)
			msgs := Messages(rec.Events)
			got := messagesJSON(t, msgs)
			golden := filepath.Join("testdata", name+".messages.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./trace -run Messages -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; got:\n%s", golden, got)
			}
			var back []goldenMessage
			if err := json.Unmarshal(want, &back); err != nil || len(back) != len(msgs) {
				t.Errorf("%s: %d pairs read back (%v); want %d", golden, len(back), err, len(msgs))
			}
		})
	}
}
