// Package keylock is a mutex per key (a session id, an address), held only
// while it is in use: the server's readers of one saved session, and a
// replica's claims of one address's places, take turns by key without
// holding up the others.
package keylock

import "sync"

// Locks is a mutex per key; the zero value is ready to use.
type Locks struct {
	mu    sync.Mutex
	locks map[string]*lock
}

type lock struct {
	sync.Mutex
	users int // holders and waiters
}

// Lock takes key's mutex and returns the function that gives it back.
func (k *Locks) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*lock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &lock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// held is how many keys have a holder or a waiter (for the tests).
func (k *Locks) held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.locks)
}
