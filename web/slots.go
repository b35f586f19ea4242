package web

import (
	"context"
	"slices"
	"sync"
)

// sessionSlots are the places of running (or stepped) sessions, counted
// per client address and in all as a counter counts, with one rule more:
// when every place is taken, a newcomer takes the place of the oldest
// session of the address holding the most (two more than the newcomer's at
// least), which is ended to make room. The bound per address is generous,
// for a lecture hall behind one NAT; without the rule two addresses
// holding their most (or a few holding many) shut everyone else out for
// a session's whole deadline.
type sessionSlots struct {
	perKey, total int

	// mu guards the fields below.
	mu      sync.Mutex
	byKey   map[string][]*sessionSlot // each address's places, oldest first
	sum     int                       // places held, those leaving included
	leaving int                       // places given up whose sessions have not ended yet
}

// sessionSlot is one session's place; end ends the session when its place
// is taken for another.
type sessionSlot struct {
	end     context.CancelCauseFunc
	leaving bool
}

// maxLeaving bounds the places given up at once whose sessions are still
// ending: what the server holds past its total while they end (a cancelled
// session ends in milliseconds), an eighth of the total at most, so that a
// small total (fitted to few file descriptors) is not doubled.
func (c *sessionSlots) maxLeaving() int {
	return min(16, max(1, c.total/8))
}

// take takes a place for key whose session end ends, or says which bound
// is full: "total" or "per-key". When it takes another address's place,
// evicted is that place: the caller ends its session with a cause, outside
// any lock, once the newcomer is sure to run (else it calls refund); its
// place is given back when that session has ended.
func (c *sessionSlots) take(key string, end context.CancelCauseFunc) (place, evicted *sessionSlot, full string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byKey[key]) >= c.perKey {
		return nil, nil, "per-key"
	}
	if c.sum-c.leaving >= c.total {
		evicted = c.victimLocked(key)
		if evicted == nil || c.leaving >= c.maxLeaving() {
			return nil, nil, "total"
		}
		evicted.leaving = true
		c.leaving++
	}
	if c.byKey == nil {
		c.byKey = map[string][]*sessionSlot{}
	}
	place = &sessionSlot{end: end}
	c.byKey[key] = append(c.byKey[key], place)
	c.sum++
	return place, evicted, ""
}

// victimLocked is the oldest place, not leaving already, of the address
// holding the most places that are not leaving, if it holds two more than
// key does; else nil.
func (c *sessionSlots) victimLocked(key string) *sessionSlot {
	staying := func(places []*sessionSlot) int {
		n := 0
		for _, p := range places {
			if !p.leaving {
				n++
			}
		}
		return n
	}
	mine := staying(c.byKey[key])
	var top []*sessionSlot
	most := 0
	for k, places := range c.byKey {
		if n := staying(places); k != key && n >= mine+2 && n > most {
			top, most = places, n
		}
	}
	for _, p := range top {
		if !p.leaving {
			return p
		}
	}
	return nil
}

// refund undoes take for key: p, its place, is given back, and evicted
// (if any), whose session was not ended, stays its holder's.
func (c *sessionSlots) refund(key string, p, evicted *sessionSlot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if evicted != nil && evicted.leaving {
		evicted.leaving = false
		c.leaving--
	}
	c.giveLocked(key, p)
}

// give gives back key's place p, once its session has ended.
func (c *sessionSlots) give(key string, p *sessionSlot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.giveLocked(key, p)
}

func (c *sessionSlots) giveLocked(key string, p *sessionSlot) {
	places := c.byKey[key]
	i := slices.Index(places, p)
	if i < 0 {
		return
	}
	if p.leaving {
		c.leaving--
	}
	c.sum--
	if len(places) == 1 {
		delete(c.byKey, key)
	} else {
		c.byKey[key] = slices.Delete(places, i, i+1)
	}
}
