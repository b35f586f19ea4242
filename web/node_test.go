package web_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeCoreModules runs node --test over web/jstest: the pure core
// modules (web/static/core) against the saved sessions in trace/testdata —
// layout, byte-range pairing against the same goldens as trace.Messages,
// labels and sentences, escaping, the C highlighter. Without node it
// skips, saying so, unless SEQD_REQUIRE_NODE=1 (CI), which makes it fail.
func TestNodeCoreModules(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("SEQD_REQUIRE_NODE") == "1" {
			t.Fatal("node is not installed and SEQD_REQUIRE_NODE=1: the core modules' tests must run (apt-get install nodejs)")
		}
		t.Skip("node is not installed: the core modules' tests (web/jstest) are skipped; apt-get install nodejs to run them")
	}
	files, err := filepath.Glob(filepath.Join("jstest", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tests in web/jstest (%v)", err)
	}
	cmd := exec.Command(node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %v: %v\n%s", files, err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}
