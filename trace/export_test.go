package trace

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestExportsMatchGoldenFiles renders recorded sessions (testdata/*.json,
// captured with seqd run -json) and compares them with the golden files.
func TestExportsMatchGoldenFiles(t *testing.T) {
	exports := []struct {
		ext   string
		write func(io.Writer, Record) error
	}{
		{".mmd", WriteMermaid},
		{".ladder.txt", WriteLadder},
	}
	for _, name := range []string{"serviceclient", "stream", "refused"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("%s.json: %v", name, err)
		}
		for _, ex := range exports {
			t.Run(name+ex.ext+" matches its golden file", func(t *testing.T) {
				var got bytes.Buffer
				if err := ex.write(&got, rec); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", name+ex.ext)
				if *update {
					if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./trace -update to create it)", err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s differs from the golden file:\n%s", golden, got.String())
				}
			})
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "serviceclient.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	again, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(again), bytes.TrimSpace(b)) {
		t.Errorf("a saved session does not survive decoding and encoding unchanged")
	}
}
