package netcore

import (
	"sort"
	"sync"
	"sync/atomic"
)

// sendSide is what the reading end of a connection in the same exchange
// learns from its writing end: the payload previews of its latest writes
// (or, for a frozen write, all the bytes it wrote), so that the read that
// takes those bytes can share the string instead of copying them again
// (trace.Event.SetPayloadShared), and whether it may have sent its FIN, so
// that the read need not ask SIOCINQ to leave a FIN out of its count. In a
// bulk transfer the second copy cost about a tenth of the traced
// throughput (BenchmarkBulkSideBySide).
type sendSide struct {
	// finning is set before the shutdown or close that may send the FIN.
	finning atomic.Bool

	mu   sync.Mutex
	next int // where the next write goes in ring
	kept int // how many ring holds
	// ring is made by the first add. Loopback's buffers let a bulk
	// writer be a few MiB, a hundred-odd 64 KiB writes, ahead of its
	// reader: with 32 writes kept, half of the reads found none.
	ring *[256]sentPreview
}

// sentPreview is the preview, or the bytes, of the write whose first byte
// was at offset.
type sentPreview struct {
	offset int64
	data   string
}

// add keeps data, the preview of the write at offset. Offsets only grow.
func (p *sendSide) add(offset int64, data string) {
	if data == "" {
		return
	}
	p.mu.Lock()
	if p.ring == nil {
		p.ring = new([256]sentPreview)
	}
	p.ring[p.next] = sentPreview{offset, data}
	p.next = (p.next + 1) % len(p.ring)
	p.kept = min(p.kept+1, len(p.ring))
	p.mu.Unlock()
}

// from returns the part of a kept preview that starts at offset, or "":
// that of the latest write that began at or before offset. An earlier one
// may reach further, but with bytes a short write did not send.
func (p *sendSide) from(offset int64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	oldest := p.next - p.kept + len(p.ring) // ring[(oldest+i)%len] is the i-th oldest
	at := func(i int) *sentPreview { return &p.ring[(oldest+i)%len(p.ring)] }
	// The first kept write that began after offset, by binary search.
	i := sort.Search(p.kept, func(i int) bool { return at(i).offset > offset })
	if i == 0 {
		return ""
	}
	if sp := at(i - 1); offset < sp.offset+int64(len(sp.data)) {
		return sp.data[offset-sp.offset:]
	}
	return ""
}

// showSending makes s's send side known to the exchange, where the read at
// the other end of its connection finds it: before its first write, and
// before a shutdown or close that may send its FIN.
func (s *sock) showSending() {
	if s.sendShown.Load() || s.conn == "" {
		return
	}
	s.ex.mu.Lock()
	if s.ex.senders == nil {
		s.ex.senders = map[string]*sendSide{}
	}
	s.ex.senders[s.conn+"|"+s.local] = &s.sending
	s.ex.mu.Unlock()
	s.sendShown.Store(true)
}

// keepPreview keeps data, the preview (or the frozen bytes) of the write s
// is about to make at offset, where the read at the other end of its
// connection finds it. Only s's writing goroutine calls it, before the
// bytes leave.
func (s *sock) keepPreview(offset int64, data string) {
	s.showSending()
	s.sending.add(offset, data)
}

// finning says that s is about to shut down writing or close, which may
// send its FIN.
func (s *sock) finning() {
	s.showSending()
	s.sending.finning.Store(true)
}

// feederSide returns the send side of the exchange's socket whose writes s
// reads, nil for a peer outside the exchange (a lab or proxy peer). Only
// s's reading goroutine calls it. Once found it is kept; so is finding none
// once bytes have come or the connection ended, since the peer shows its
// side before either.
func (s *sock) feederSide() *sendSide {
	if !s.feederKnown && s.conn != "" {
		s.ex.mu.Lock()
		s.feeder = s.ex.senders[s.conn+"|"+s.peer]
		s.ex.mu.Unlock()
		s.feederKnown = true
	}
	return s.feeder
}

// sharedPreview returns the preview of the bytes s is about to have read
// at its offset, kept by the write of this exchange that sent them, or "".
func (s *sock) sharedPreview() string {
	if f := s.feederSide(); f != nil {
		return f.from(s.recvd)
	}
	return ""
}

// peerMayHaveFinned reports whether the far end of s's connection may have
// sent its FIN: always, for a peer outside the exchange.
func (s *sock) peerMayHaveFinned() bool {
	f := s.feederSide()
	return f == nil || f.finning.Load()
}
