package keylock

import (
	"sync"
	"testing"
	"time"
)

func TestLocks(t *testing.T) {
	t.Run("holders of one key take turns", func(t *testing.T) {
		var k Locks
		var mu sync.Mutex
		inside, most := 0, 0
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				unlock := k.Lock("a")
				defer unlock()
				mu.Lock()
				inside++
				most = max(most, inside)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
			})
		}
		wg.Wait()
		if most != 1 {
			t.Errorf("%d holders of one key at once, want 1", most)
		}
	})
	t.Run("another key is not held up", func(t *testing.T) {
		var k Locks
		unlockA := k.Lock("a")
		defer unlockA()
		done := make(chan struct{})
		go func() { k.Lock("b")(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("key b waited for key a's holder")
		}
	})
	t.Run("a key is forgotten once no one holds or waits for it", func(t *testing.T) {
		var k Locks
		k.Lock("a")()
		unlock := k.Lock("b")
		if n := k.held(); n != 1 {
			t.Errorf("%d keys kept, want 1 (b)", n)
		}
		unlock()
		if n := k.held(); n != 0 {
			t.Errorf("%d keys kept after every unlock, want 0", n)
		}
	})
}
