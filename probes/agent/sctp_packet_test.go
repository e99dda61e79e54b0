package agent

import (
	"encoding/binary"
	"testing"
)

// TestSCTPChecksumIsCRC32c checks the checksum against RFC 3720 B.4's
// CRC32c vector (32 zero bytes give 0x8a9136aa) and its placement, least
// significant byte first (RFC 9260 appendix A).
func TestSCTPChecksumIsCRC32c(t *testing.T) {
	zeros := make([]byte, 32)
	binary.LittleEndian.PutUint32(zeros[8:], 0xffffffff) // the field is read as zero
	if got := sctpChecksum(zeros); got != 0x8a9136aa {
		t.Fatalf("CRC32c of 32 zero bytes %#x, want 0x8a9136aa", got)
	}
	pkt := encodeSCTP(sctpHeader{SrcPort: 1, DstPort: 2}, sctpChunk{Type: chunkAbort})
	if got, want := pkt[8:12], binary.LittleEndian.AppendUint32(nil, sctpChecksum(pkt)); string(got) != string(want) {
		t.Fatalf("checksum bytes % x, want % x (least significant first)", got, want)
	}
	if _, _, err := decodeSCTP(pkt); err != nil {
		t.Fatalf("decoding our own packet: %v", err)
	}
	pkt[13] ^= 1
	if _, _, err := decodeSCTP(pkt); err == nil {
		t.Fatal("a corrupted packet passed the checksum")
	}
}

// TestInitAckCarriesIdentityCookie round-trips an INIT-ACK with an odd-sized
// State Cookie: RFC 9260 3.2 and 3.2.1 say the chunk length counts the
// padding of every parameter but the last.
func TestInitAckCarriesIdentityCookie(t *testing.T) {
	tests := []struct {
		clause   string
		identity string
	}{
		{"RFC 9260 3.2.1: last parameter padding not in chunk length", "x/a"},
		{"RFC 9260 3.2.1: aligned parameter", "ns/pod1"},
		{"DESIGN Probes: long identities", "a-namespace-with-a-long-name/a-pod-with-an-even-longer-name-0123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.identity, func(t *testing.T) {
			cookie := append([]byte(identityCookieMark), tt.identity...)
			value := encodeInit(sctpInit{InitiateTag: 7, ReceiveWindow: 65536, OutStreams: 1, InStreams: 1, InitialTSN: 9,
				Params: []sctpParam{{Type: paramStateCookie, Value: cookie}}})
			if want := sctpInitFixed + 4 + len(cookie); len(value) != want {
				t.Fatalf("[%s] chunk value %d bytes, want %d", tt.clause, len(value), want)
			}
			pkt := encodeSCTP(sctpHeader{SrcPort: 80, DstPort: 40000, VTag: 5}, sctpChunk{Type: chunkInitAck, Value: value})
			if len(pkt)%4 != 0 {
				t.Fatalf("packet length %d not padded to 4", len(pkt))
			}
			h, chunks, err := decodeSCTP(pkt)
			if err != nil {
				t.Fatal(err)
			}
			if h != (sctpHeader{SrcPort: 80, DstPort: 40000, VTag: 5}) || len(chunks) != 1 || chunks[0].Type != chunkInitAck {
				t.Fatalf("decoded %+v %+v", h, chunks)
			}
			if got := int(binary.BigEndian.Uint16(pkt[14:])); got != sctpChunkHeader+len(value) {
				t.Fatalf("[%s] chunk length field %d, want %d", tt.clause, got, sctpChunkHeader+len(value))
			}
			in, err := decodeInit(chunks[0].Value)
			if err != nil {
				t.Fatal(err)
			}
			if in.InitiateTag != 7 || in.InitialTSN != 9 {
				t.Fatalf("decoded INIT-ACK %+v", in)
			}
			got, ours := identityFromCookie(in)
			if !ours || got != tt.identity {
				t.Fatalf("identity %q (ours=%v), want %q", got, ours, tt.identity)
			}
		})
	}
}

// TestForeignCookieHasNoIdentity: a State Cookie from a real SCTP stack is
// opaque; it must not be read as an identity.
func TestForeignCookieHasNoIdentity(t *testing.T) {
	in := sctpInit{Params: []sctpParam{{Type: paramStateCookie, Value: []byte("opaque kernel cookie")}}}
	if id, ours := identityFromCookie(in); ours || id != "" {
		t.Fatalf("foreign cookie read as identity %q", id)
	}
}
