package web

import (
	"context"
	"testing"
)

// TestSessionSlots plays takes and gives on small sessionSlots and checks
// each answer: which bound refuses, whose place is taken, and how far past
// its total it ever holds.
func TestSessionSlots(t *testing.T) {
	type step struct {
		op    string // "take", "give" (the key's oldest place), "refund" (the key's last take undone)
		key   string
		full  string // take: the bound that refuses, "" for none
		evict string // take: the key whose place it takes, "" for none
	}
	tests := []struct {
		name         string
		total, perIP int
		steps        []step
	}{
		{"an address past its own bound is refused, whatever room is left", 4, 2, []step{
			{"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "per-key", ""},
		}},
		{"a newcomer takes the oldest place of the address holding two more", 3, 3, []step{
			{"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "", ""},
			{"take", "b", "", "a"},
		}},
		{"an address holding one more than the newcomer keeps its places", 3, 3, []step{
			{"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "b", "", ""},
			{"take", "b", "total", ""},
		}},
		{"an address never takes its own place", 2, 2, []step{
			{"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "per-key", ""},
		}},
		{"places leaving do not count for the address that holds them", 4, 4, []step{
			{"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "", ""},
			{"take", "b", "", "a"}, // a: 3 staying, b: 1
			{"take", "b", "total", ""},
		}},
		{"at most an eighth of the total leaves at once", 8, 8, []step{
			{"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "", ""},
			{"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "", ""}, {"take", "a", "", ""},
			{"take", "b", "", "a"}, // one leaving: the most for a total of 8
			{"take", "c", "total", ""},
			{"give", "a", "", ""}, // the stopped session ended
			{"take", "c", "", "a"},
		}},
		{"an eviction undone leaves the place with its holder", 2, 2, []step{
			{"take", "a", "", ""}, {"take", "a", "", ""},
			{"take", "b", "", "a"}, {"refund", "b", "", ""},
			{"take", "b", "", "a"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &sessionSlots{total: tt.total, perKey: tt.perIP}
			held := map[string][]*sessionSlot{}
			owner := map[*sessionSlot]string{}
			var lastEvicted *sessionSlot
			noop := context.CancelCauseFunc(func(error) {})
			for i, s := range tt.steps {
				switch s.op {
				case "take":
					p, ev, full := c.take(s.key, noop)
					evicted := ""
					if ev != nil {
						evicted = owner[ev]
						lastEvicted = ev
					}
					if full != s.full || evicted != s.evict || (p == nil) != (full != "") {
						t.Fatalf("step %d, take for %s: place %v, evicted %q, full %q; want evicted %q, full %q", i, s.key, p != nil, evicted, full, s.evict, s.full)
					}
					if p != nil {
						held[s.key] = append(held[s.key], p)
						owner[p] = s.key
					}
				case "give":
					c.give(s.key, held[s.key][0])
					held[s.key] = held[s.key][1:]
				case "refund":
					n := len(held[s.key])
					c.refund(s.key, held[s.key][n-1], lastEvicted)
					held[s.key] = held[s.key][:n-1]
				}
				if c.sum-c.leaving > c.total || c.leaving > c.maxLeaving() || c.sum > c.total+c.maxLeaving() {
					t.Fatalf("step %d: %d held, %d leaving, for a total of %d", i, c.sum, c.leaving, c.total)
				}
			}
		})
	}
	t.Run("giving back a place it does not hold changes nothing", func(t *testing.T) {
		c := &sessionSlots{total: 2, perKey: 2}
		c.take("a", nil)
		c.give("a", &sessionSlot{})
		c.give("b", &sessionSlot{})
		if c.sum != 1 || len(c.byKey["a"]) != 1 {
			t.Errorf("%d held, a holds %d; want 1 and 1", c.sum, len(c.byKey["a"]))
		}
	})
}

func TestByteSizeSaysSizesInWords(t *testing.T) {
	for n, want := range map[int64]string{
		12: "12 bytes", 1 << 10: "1 KiB", 1536: "1.5 KiB", 32 << 20: "32 MiB",
		1000 << 20: "1000 MiB", 1023<<20 + 1<<19: "1023.5 MiB", 3 << 30: "3 GiB",
	} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q; want %q", n, got, want)
		}
	}
}
