package trace

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzEventJSON checks that any strings and payload give valid wire-format
// JSON that decodes back to the same event.
func FuzzEventJSON(f *testing.F) {
	f.Add("client", "alice\n", []byte("alice\n"), 4096)
	f.Add("s\"<>&\\", "\xff\xfe", []byte{0, 1, 0xff}, 2)
	f.Add("\u2028", "é", []byte("aé"), 2)
	f.Fuzz(func(t *testing.T, actor, errText string, payload []byte, limit int) {
		e := Event{Actor: actor, Kind: KindRecv, Err: errText, Bytes: len(payload)}
		e.SetPayload(payload, limit%8192)
		b := e.AppendJSON(nil)
		var got Event
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("invalid JSON %q: %v", b, err)
		}
		want := e
		want.Actor, want.Err = asJSONString(want.Actor), asJSONString(want.Err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
		if p := got.Payload(); len(p) > len(payload) || string(p) != string(payload[:len(p)]) {
			t.Fatalf("payload %q is not a prefix of %q", p, payload)
		}
	})
}

// asJSONString is s as encoding/json transmits it: each invalid UTF-8 byte
// becomes U+FFFD.
func asJSONString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}
