package web

import (
	"fmt"
	"testing"
	"time"
)

// TestSaveSharesForgetEndedWindows fills saveShares to maxShareKeys and
// checks that a new address shares the overflow share while every window
// is open, and gets its own once the oldest windows have ended, however
// often the full map was asked about in between.
func TestSaveSharesForgetEndedWindows(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	l := &saveShares{most: 1 << 20, mostFiles: 10, window: time.Hour}
	for i := range maxShareKeys {
		since := t0
		if i%2 == 1 {
			since = t0.Add(30 * time.Minute) // half the windows begin later
		}
		if !l.take("api", fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), 1, since) {
			t.Fatalf("address %d refused its first session", i)
		}
	}
	overflow := "api (the addresses past maxShareKeys)"
	t.Run("a new address while every window is open shares the overflow share", func(t *testing.T) {
		for i := range 20 {
			l.take("api", fmt.Sprintf("192.0.2.%d", i), 1, t0.Add(40*time.Minute))
		}
		if got := l.byKey[overflow]; got == nil || got.files != 10 {
			t.Fatalf("overflow share %+v; want 10 files (its bound), the 20 newcomers' sessions in it", got)
		}
		if l.take("api", "192.0.2.200", 1, t0.Add(41*time.Minute)) {
			t.Error("a newcomer past the full overflow share was let save")
		}
	})
	t.Run("once the first windows end a new address gets a share of its own", func(t *testing.T) {
		now := t0.Add(61 * time.Minute)
		if !l.take("api", "198.51.100.1", 1, now) {
			t.Fatal("a newcomer after the first half's windows ended was refused")
		}
		if l.byKey["api 198.51.100.1"] == nil {
			t.Error("the newcomer was counted in the overflow share, not its own")
		}
		if n := len(l.byKey); n > maxShareKeys/2+3 {
			t.Errorf("%d shares remembered; want the ended half forgotten", n)
		}
	})
	t.Run("the second half is forgotten when its windows end", func(t *testing.T) {
		l.take("api", "198.51.100.2", 1, t0.Add(91*time.Minute))
		for len(l.byKey) < maxShareKeys {
			l.byKey[fmt.Sprintf("api filler %d", len(l.byKey))] = &saveShare{since: t0.Add(91 * time.Minute)}
		}
		if !l.take("api", "198.51.100.3", 1, t0.Add(92*time.Minute)) || l.byKey["api 198.51.100.3"] == nil {
			t.Error("a newcomer after the second half's windows ended did not get a share of its own")
		}
	})
}

// BenchmarkSaveSharesFull is a new address's take on a full saveShares
// whose windows are all open: the flood maxShareKeys is for.
func BenchmarkSaveSharesFull(b *testing.B) {
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	l := &saveShares{most: 1 << 40, mostFiles: 1 << 30, window: time.Hour}
	for i := range maxShareKeys {
		l.take("api", fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), 1, t0)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.take("api", "192.0.2.1", 1, t0.Add(time.Minute))
	}
}
