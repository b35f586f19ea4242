// Package testneed decides, for every package's tests, what a test does
// when something it needs is missing from the machine (a program such as
// Chromium, node, cc or strace; an npm file; a capability): it skips,
// saying what is missing and how to get it, unless the environment
// variable that requires that thing is set (.ci/run sets them), when it
// fails instead. One rule, so that a CI machine that lost Chromium or gcc
// turns red rather than quietly green, and a laptop without them still
// runs the rest.
package testneed

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Required reports whether the environment variable require says the
// thing it names must be there: set to anything but "" or "0".
func Required(require string) bool {
	v := os.Getenv(require)
	return v != "" && v != "0"
}

// Missing ends t for want of something msg describes: it fails when
// Required(require), and skips otherwise.
func Missing(t testing.TB, require, msg string) {
	t.Helper()
	if Required(require) {
		t.Fatalf("%s; %s is set, so this test must run", msg, require)
	}
	t.Skip(msg)
}

// Program returns the path of the first of names found on $PATH, or ends
// t as Missing does, saying how to install one (install, such as
// "apt-get install strace").
func Program(t testing.TB, require, install string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, require, "no "+strings.Join(names, " or ")+" on $PATH ("+install+")")
	return ""
}
