package testneed

import "testing"

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        bool
	}{
		{"an unset variable requires nothing", "", false},
		{"a variable set to 0 requires nothing", "0", false},
		{"a variable set to 1 requires", "1", true},
		{"a variable set to any other word requires", "yes", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SEQD_REQUIRE_TESTNEED", tc.value)
			if got := Required("SEQD_REQUIRE_TESTNEED"); got != tc.want {
				t.Errorf("Required with %q = %v; want %v", tc.value, got, tc.want)
			}
		})
	}
}

func TestProgram(t *testing.T) {
	t.Run("the first program found on $PATH is returned", func(t *testing.T) {
		if p := Program(t, "SEQD_REQUIRE_TESTNEED", "it is in every image", "no-such-program-seqd", "sh"); p == "" {
			t.Error("sh was not found")
		}
	})
	t.Run("a missing program skips the test when nothing requires it", func(t *testing.T) {
		t.Setenv("SEQD_REQUIRE_TESTNEED", "")
		var inner *testing.T
		went := false
		t.Run("without the program", func(t *testing.T) {
			inner = t
			Program(t, "SEQD_REQUIRE_TESTNEED", "nothing to install", "no-such-program-seqd")
			went = true
		})
		if went || !inner.Skipped() {
			t.Errorf("went on: %v, skipped: %v; want the test skipped where the program was asked for", went, inner.Skipped())
		}
	})
}
