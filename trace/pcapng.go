package trace

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
)

// pcapng block types and constants (draft-ietf-opsawg-pcapng).
const (
	pcapngSHB        = 0x0A0D0D0A
	pcapngIDB        = 0x00000001
	pcapngEPB        = 0x00000006
	pcapngMagic      = 0x1A2B3C4D
	linktypeEthernet = 1
	optTSResol       = 9
	pcapngSnapLen    = 65535
)

// ErrNoSegments is returned by WritePcapng for a session without captured
// segments.
var ErrNoSegments = errors.New("the session has no captured segments; start it with segments on (needs CAP_NET_RAW)")

// WritePcapng writes the session's captured segments as a pcapng file that
// Wireshark and tshark open: one Ethernet interface (lo) with nanosecond
// timestamps, one Enhanced Packet Block per segment with the bytes captured
// (headers and the start of the payload) and the length on the wire.
func WritePcapng(w io.Writer, rec Record) error {
	var segs []*Event
	for i := range rec.Events {
		if rec.Events[i].Kind == KindSegment && rec.Events[i].Frame != "" {
			segs = append(segs, &rec.Events[i])
		}
	}
	if len(segs) == 0 {
		return ErrNoSegments
	}
	le := binary.LittleEndian
	var b []byte
	// Section Header Block.
	b = le.AppendUint32(b, pcapngSHB)
	b = le.AppendUint32(b, 28)
	b = le.AppendUint32(b, pcapngMagic)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint64(b, ^uint64(0)) // section length unknown
	b = le.AppendUint32(b, 28)
	// Interface Description Block with if_tsresol = 9 (nanoseconds).
	b = le.AppendUint32(b, pcapngIDB)
	b = le.AppendUint32(b, 32)
	b = le.AppendUint16(b, linktypeEthernet)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, pcapngSnapLen)
	b = le.AppendUint16(b, optTSResol)
	b = le.AppendUint16(b, 1)
	b = append(b, 9, 0, 0, 0)
	b = le.AppendUint32(b, 0) // opt_endofopt
	b = le.AppendUint32(b, 32)
	origin := rec.StartedAt.UnixNano()
	for _, e := range segs {
		frame, err := base64.StdEncoding.DecodeString(e.Frame)
		if err != nil {
			return err
		}
		wire := len(frame)
		if len(frame) >= 18 {
			wire = max(wire, 14+int(binary.BigEndian.Uint16(frame[16:18]))) // Ethernet + IP total length
		}
		padded := (len(frame) + 3) &^ 3
		total := 32 + padded
		ts := uint64(origin + e.TSNs)
		b = le.AppendUint32(b, pcapngEPB)
		b = le.AppendUint32(b, uint32(total))
		b = le.AppendUint32(b, 0) // interface 0
		b = le.AppendUint32(b, uint32(ts>>32))
		b = le.AppendUint32(b, uint32(ts))
		b = le.AppendUint32(b, uint32(len(frame)))
		b = le.AppendUint32(b, uint32(wire))
		b = append(b, frame...)
		b = append(b, make([]byte, padded-len(frame))...)
		b = le.AppendUint32(b, uint32(total))
	}
	_, err := w.Write(b)
	return err
}
