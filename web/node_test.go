package web_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"seqd/internal/testneed"
)

// TestNodeCoreModules runs node --test over web/jstest: the pure core
// modules (web/static/core) against the saved sessions in trace/testdata —
// layout, byte-range pairing against the same goldens as trace.Messages,
// labels and sentences, escaping, the C highlighter. Without node it
// skips, saying so, unless SEQD_REQUIRE_NODE is set (CI), which makes it fail.
func TestNodeCoreModules(t *testing.T) {
	node := testneed.Program(t, "SEQD_REQUIRE_NODE", "apt-get install nodejs to run the core modules' tests, web/jstest", "node")
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
