package netcore

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"seqd/internal/testneed"
	"seqd/trace"
)

// needSegments skips a test that needs CAP_NET_RAW when the process lacks
// it, unless SEQD_REQUIRE_SEGMENTS is set (CI runs as root and sets it).
func needSegments(t *testing.T) {
	t.Helper()
	if ok, why := SegmentsAvailable(); !ok {
		testneed.Missing(t, "SEQD_REQUIRE_SEGMENTS", why)
	}
}

func segmentSession(t *testing.T, name string) trace.Record {
	t.Helper()
	r := &Runner{Preview: 1 << 30, Timeout: 30 * time.Second}
	sess, err := r.Prepare(name, nil, trace.Features{Segments: true})
	if err != nil {
		t.Fatal(err)
	}
	r.Run(context.Background(), sess)
	rec := sess.Snapshot()
	if rec.State != trace.StateDone {
		t.Fatalf("%s: %s %s", name, rec.State, rec.Error)
	}
	return rec
}

func hasFlags(e trace.Event, flags ...string) bool {
	return slices.Equal(e.Flags, flags)
}

func TestSegmentsOfServiceClient(t *testing.T) {
	needSegments(t)
	rec := segmentSession(t, "serviceclient")
	checkInvariants(t, rec, false)
	firstData, shutWR := -1, -1
	var written int
	for _, e := range rec.Events {
		switch {
		case e.Kind == trace.KindSend && firstData < 0:
			firstData = e.Seq
		case e.Kind == trace.KindShutdown && e.How == "SHUT_WR":
			shutWR = e.Seq
		}
		if e.Kind == trace.KindSend {
			written += e.Bytes
		}
	}
	var segs []trace.Event
	for _, e := range rec.Events {
		if e.Kind == trace.KindSegment {
			segs = append(segs, e)
		}
	}
	if len(segs) < 3 {
		t.Fatalf("%d segments captured; want the handshake at least", len(segs))
	}
	t.Run("the handshake comes before the first data", func(t *testing.T) {
		want := [][]string{{"SYN"}, {"SYN", "ACK"}, {"ACK"}}
		for i, w := range want {
			if !hasFlags(segs[i], w...) || segs[i].Seq > firstData {
				t.Errorf("segment %d: %v at seq %d; want %v before the first write (seq %d)", i, segs[i].Flags, segs[i].Seq, w, firstData)
			}
		}
		if segs[0].Actor != "client" || segs[1].Actor != "server" {
			t.Errorf("SYN from %s, SYN-ACK from %s; want client, server", segs[0].Actor, segs[1].Actor)
		}
	})
	t.Run("a FIN follows the SHUT_WR", func(t *testing.T) {
		found := false
		for _, s := range segs {
			if s.Actor == "client" && slices.Contains(s.Flags, "FIN") {
				found = true
				if s.TSNs < rec.Events[shutWR].TNs-rec.Events[shutWR].DurNs {
					t.Errorf("the client's FIN was captured before shutdown began")
				}
			}
		}
		if !found {
			t.Errorf("no FIN from the client")
		}
	})
	t.Run("data segments carry every byte written", func(t *testing.T) {
		sum := 0
		for _, s := range segs {
			sum += s.Len
		}
		if sum != written {
			t.Errorf("data segments carry %d bytes; the calls wrote %d", sum, written)
		}
	})
	t.Run("the pcapng export reads back with the same segments", func(t *testing.T) {
		var buf bytes.Buffer
		if err := trace.WritePcapng(&buf, rec); err != nil {
			t.Fatal(err)
		}
		pkts := readPcapng(t, buf.Bytes())
		if len(pkts) != len(segs) {
			t.Fatalf("%d packets in the file; %d segments captured", len(pkts), len(segs))
		}
		for i, p := range pkts {
			ip := p.data[14:]
			tcp := ip[int(ip[0]&0xf)*4:]
			if seq := binary.BigEndian.Uint32(tcp[4:8]); seq != segs[i].TCPSeq {
				t.Errorf("packet %d: seq %d; segment %d", i, seq, segs[i].TCPSeq)
			}
			if want := uint64(rec.StartedAt.UnixNano() + segs[i].TSNs); p.ts != want {
				t.Errorf("packet %d: timestamp %d; want %d", i, p.ts, want)
			}
		}
	})
}

func TestResetSendsRST(t *testing.T) {
	needSegments(t)
	rec := segmentSession(t, "reset")
	for _, e := range rec.Events {
		if e.Kind == trace.KindSegment && e.Actor == "server" && slices.Contains(e.Flags, "RST") {
			return
		}
	}
	t.Errorf("no RST from the server in the reset scenario")
}

type pcapPacket struct {
	ts   uint64
	data []byte
}

// readPcapng parses the blocks WritePcapng writes and returns the packets.
func readPcapng(t *testing.T, b []byte) []pcapPacket {
	t.Helper()
	le := binary.LittleEndian
	var pkts []pcapPacket
	for len(b) > 0 {
		if len(b) < 12 {
			t.Fatalf("a truncated block: %d bytes left", len(b))
		}
		typ, length := le.Uint32(b), int(le.Uint32(b[4:]))
		if length < 12 || length > len(b) || length%4 != 0 || int(le.Uint32(b[length-4:])) != length {
			t.Fatalf("block type %#x: bad length %d", typ, length)
		}
		switch typ {
		case pcapngSHBForTest:
			if le.Uint32(b[8:]) != 0x1A2B3C4D {
				t.Fatal("bad byte-order magic")
			}
		case 6:
			ts := uint64(le.Uint32(b[12:]))<<32 | uint64(le.Uint32(b[16:]))
			capLen := int(le.Uint32(b[20:]))
			pkts = append(pkts, pcapPacket{ts: ts, data: b[28 : 28+capLen]})
		}
		b = b[length:]
	}
	return pkts
}

// pcapngSHBForTest is the Section Header Block type, written out again so
// that the reader does not trust the writer's constants.
const pcapngSHBForTest = 0x0A0D0D0A

// TestSegmentsWithoutCapability runs sessions in a process without
// CAP_NET_RAW: as root, a child copy of this test binary runs as nobody.
func TestSegmentsWithoutCapability(t *testing.T) {
	if os.Getenv("SEQD_CHILD_WITHOUT_NET_RAW") != "" || os.Geteuid() != 0 {
		ok, why := SegmentsAvailable()
		if ok {
			t.Skip("this process has CAP_NET_RAW without being root")
		}
		if !strings.Contains(why, "CAP_NET_RAW") {
			t.Errorf("the reason %q does not say how to enable segments", why)
		}
		rec := segmentSession(t, "serviceclient")
		checkInvariants(t, rec, false)
		for _, e := range rec.Events {
			if e.Kind == trace.KindSegment {
				t.Fatalf("a segment without CAP_NET_RAW")
			}
		}
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // nobody must reach the copy
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyExe := filepath.Join(dir, "netcore.test")
	in, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(copyExe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	cmd := exec.Command(copyExe, "-test.run", "^TestSegmentsWithoutCapability$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SEQD_CHILD_WITHOUT_NET_RAW=1", "SEQD_REQUIRE_SEGMENTS=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "--- PASS: TestSegmentsWithoutCapability") {
		t.Fatalf("the child without CAP_NET_RAW: %v\n%s", err, b)
	}
}
