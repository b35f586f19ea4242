package netcore

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"seqd/internal/testneed"
)

// TestListingsCompile builds every scenario's C programs with the warnings
// of a careful course: cc -Wall -Werror.
func TestListingsCompile(t *testing.T) {
	cc := testneed.Program(t, "SEQD_REQUIRE_CC", "apt-get install gcc to check the listings", "cc")
	for _, sc := range scenarios {
		for _, src := range (&Runner{}).Sources(sc.name) {
			t.Run(sc.name+"/"+src.File+" compiles with -Wall -Werror", func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, src.File)
				if err := os.WriteFile(path, []byte(src.Text), 0o644); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(cc, "-Wall", "-Werror", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-o", filepath.Join(dir, "prog"), path).CombinedOutput()
				if err != nil {
					t.Errorf("cc %s: %v\n%s", src.File, err, out)
				}
			})
		}
	}
}

// TestEveryEventHasItsLine runs every scenario and checks that each event
// names a line of its actor's program that makes that call.
func TestEveryEventHasItsLine(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name+" names the line of every call", func(t *testing.T) {
			srcs := map[string][]string{}
			for _, s := range (&Runner{}).Sources(sc.name) {
				srcs[s.File] = strings.Split(s.Text, "\n")
			}
			if len(srcs) != 2 {
				t.Fatalf("%d listings; want client.c and server.c", len(srcs))
			}
			rec := runSession(t, sc.name, nil)
			for _, e := range rec.Events {
				lines := srcs[e.Src]
				if e.Src != programFile(e.Actor) || e.Line < 1 || e.Line > len(lines) {
					t.Errorf("event %d (%s by %s): src %q line %d", e.Seq, e.Kind, e.Actor, e.Src, e.Line)
					continue
				}
				if line := lines[e.Line-1]; !strings.Contains(line, cName[e.Kind]) {
					t.Errorf("event %d (%s by %s) names %s:%d, which does not call %s: %q", e.Seq, e.Kind, e.Actor, e.Src, e.Line, cName[e.Kind], line)
				}
			}
		})
	}
}
