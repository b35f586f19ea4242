package replica

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"seqd/trace"
)

// An address's places across the cluster: how many sessions of a kind
// (running, stepped) one client address has open on all the replicas
// together, so that a load balancer spreading one address over three
// replicas does not triple what it may hold. They are counted in the
// sessions' bucket, one key an address and kind ("claim.<kind>.<hex of
// the address>"), whose value is the set of sessions holding a place;
// every change is a compare-and-set on the key's revision, so two
// replicas taking the last place at once cannot both have it.
//
// Why counters in the bucket and not a share of the bound a replica: a
// load balancer that hashes by source address sends a whole lecture hall
// behind one NAT to one replica, which would then allow it only a third.
//
// A place is given back when its session ends (Claim's release). One
// that never is (its replica was killed) is dropped by the next claim
// that finds its session finished in the bucket or its replica's
// heartbeat gone (Dead).

// ClaimTries bounds the compare-and-set rounds of one claim or release
// (other replicas changing the same key meanwhile); past them the claim
// fails with an error, and the caller decides.
const ClaimTries = 30

// ClaimLookups bounds how many places' sessions one claim asks the bucket
// about (those the watch no longer keeps); the others wait for a later
// claim, or their replica's end.
const ClaimLookups = 8

// ClaimSettle is how long after its claim a place's session is not looked
// up in the bucket.
const ClaimSettle = 10 * time.Second

// ReleasePatience bounds giving a place back, which a server's Close waits
// for: a place not given back is dropped by a later claim.
const ReleasePatience = 5 * time.Second

// claimed is one place: the replica whose session holds it, and since when.
type claimed struct {
	Runner string    `json:"runner"`
	Since  time.Time `json:"since"`
}

func claimKey(kind, addr string) string {
	return "claim." + kind + "." + hex.EncodeToString([]byte(addr))
}

// Claim takes one of address addr's places of kind (running, stepped)
// across the cluster for session id, which this replica runs. It reports
// false when addr holds most places already; release gives the place
// back (call it once, when the session ends). An error says the bucket
// could not be asked or changed (NATS unavailable, or ClaimTries rounds
// lost to other replicas): the place is then not counted.
func (n *Node) Claim(ctx context.Context, kind, addr, id string, most int) (release func(), ok bool, err error) {
	key := claimKey(kind, addr)
	unlock := n.claimLocks.Lock(key) // this replica's claims of a key take turns: fewer lost rounds
	defer unlock()
	err = n.changeClaims(ctx, key, func(places map[string]claimed) bool {
		ok = false // a round lost to another replica's change counts again
		if len(places) >= most {
			return false
		}
		places[id] = claimed{Runner: n.id, Since: time.Now().UTC()}
		ok = true
		return true
	})
	if err != nil || !ok {
		return nil, false, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(n.ctx, ReleasePatience)
		defer cancel()
		unlock := n.claimLocks.Lock(key)
		defer unlock()
		err := n.changeClaims(ctx, key, func(places map[string]claimed) bool {
			_, held := places[id]
			delete(places, id)
			return held
		})
		if err != nil {
			// The next claim drops it: its session is finished.
			n.log.Warn("give back an address's place", "id", id, "err", err)
		}
	}, true, nil
}

// changeClaims applies change to the places of key, less those whose
// sessions are over, and writes them back if change says so, again from
// the start when another replica changed the key meanwhile.
func (n *Node) changeClaims(ctx context.Context, key string, change func(map[string]claimed) bool) error {
	for range ClaimTries {
		var rev uint64
		places := map[string]claimed{}
		entry, err := n.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("address places: %w", err)
		default:
			rev = entry.Revision()
			if err := json.Unmarshal(entry.Value(), &places); err != nil || places == nil {
				places = map[string]claimed{} // not ours to read (or null): counted afresh
			}
		}
		pruned := n.dropFinished(ctx, places)
		if !change(places) && !pruned {
			return nil
		}
		data, err := json.Marshal(places)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = n.kv.Create(ctx, key, data)
		} else {
			_, err = n.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongLast(err) {
			return fmt.Errorf("address places: %w", err)
		}
	}
	return fmt.Errorf("address places: %d rounds lost to other replicas' changes", ClaimTries)
}

// dropFinished removes the places whose sessions ended without giving
// them back: finished in the bucket, run by a replica whose heartbeat is
// gone, or older than the bucket keeps sessions. It reports whether it
// removed any.
func (n *Node) dropFinished(ctx context.Context, places map[string]claimed) bool {
	alive := map[string]bool{n.id: true}
	dropped := false
	asks := ClaimLookups
	for id, p := range places {
		// Older than the bucket keeps anything: no session runs that long.
		if time.Since(p.Since) > n.maxAge {
			delete(places, id)
			dropped = true
			continue
		}
		state, known := n.watchedState(id)
		// A place younger than ClaimSettle is a session just started: the
		// watch has it soon, and the bucket may not have it yet.
		if !known && asks > 0 && time.Since(p.Since) > ClaimSettle {
			asks-- // the bucket is asked about a few a claim: an address may hold hundreds
			state, known = n.bucketState(ctx, id)
		}
		if known && state != trace.StateRunning {
			delete(places, id)
			dropped = true
			continue
		}
		up, asked := alive[p.Runner]
		if !asked {
			up = n.beating(ctx, p.Runner)
			alive[p.Runner] = up
		}
		if !up {
			delete(places, id)
			dropped = true
		}
	}
	return dropped
}

// watchedState is session id's state as the bucket's watch last said, if
// it did (it keeps the newest RecentKept sessions).
func (n *Node) watchedState(id string) (trace.State, bool) {
	n.recentMu.Lock()
	defer n.recentMu.Unlock()
	r, ok := n.recent[id]
	return r.meta.State, ok
}

// bucketState is session id's state as the bucket says; known is false
// when it cannot tell (the session not in the bucket yet: claims come
// before a session is published; or the bucket not answering).
func (n *Node) bucketState(ctx context.Context, id string) (state trace.State, known bool) {
	entry, err := n.kv.Get(ctx, id)
	if err != nil {
		return "", false
	}
	var pub published
	if err := json.Unmarshal(entry.Value(), &pub); err != nil {
		return "", false
	}
	return pub.Meta.State, true
}
