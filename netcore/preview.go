package netcore

import "sync"

// sentPreviews keeps the payload previews of a socket's latest writes, so
// that the read in this process that takes those bytes at the other end
// can share the preview's string instead of copying the same bytes again
// (trace.Event.SetPayloadShared). In a bulk transfer the second copy cost
// about a tenth of the traced throughput (BenchmarkBulkSideBySide).
type sentPreviews struct {
	mu   sync.Mutex
	next int
	ring [32]sentPreview // enough for the writer to be a few MiB ahead
}

// sentPreview is the preview of the write whose first byte was at offset.
type sentPreview struct {
	offset int64
	data   string
}

// add keeps data, the preview of the write at offset.
func (p *sentPreviews) add(offset int64, data string) {
	if data == "" {
		return
	}
	p.mu.Lock()
	p.ring[p.next] = sentPreview{offset, data}
	p.next = (p.next + 1) % len(p.ring)
	p.mu.Unlock()
}

// from returns the part of a kept preview that starts at offset, or "".
func (p *sentPreviews) from(offset int64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, sp := range p.ring {
		if sp.data != "" && sp.offset <= offset && offset < sp.offset+int64(len(sp.data)) {
			return sp.data[offset-sp.offset:]
		}
	}
	return ""
}

// keepPreview keeps data, the preview of the write s is about to make at
// offset, where the read at the other end of its connection finds it. Only
// s's writing goroutine calls it, before the bytes leave.
func (s *sock) keepPreview(offset int64, data string) {
	if !s.previewsShown && s.conn != "" {
		s.ex.mu.Lock()
		if s.ex.senders == nil {
			s.ex.senders = map[string]*sentPreviews{}
		}
		s.ex.senders[s.conn+"|"+s.local] = &s.previews
		s.ex.mu.Unlock()
		s.previewsShown = true
	}
	s.previews.add(offset, data)
}

// sharedPreview returns the preview of the bytes s is about to have read
// at its offset, kept by the write of this exchange that sent them, or "".
// Only s's reading goroutine calls it. The writer's previews, once found,
// are kept; so is finding none once bytes have come (a lab or proxy peer
// is not the exchange's own).
func (s *sock) sharedPreview() string {
	if !s.feederKnown && s.conn != "" {
		s.ex.mu.Lock()
		s.feeder = s.ex.senders[s.conn+"|"+s.peer]
		s.ex.mu.Unlock()
		s.feederKnown = true
	}
	if s.feeder != nil {
		return s.feeder.from(s.recvd)
	}
	return ""
}
