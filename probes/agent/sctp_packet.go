package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// SCTP wire format, from RFC 9260 sections 3 and 3.3: a 12-byte common
// header (source port, destination port, verification tag, CRC32c
// checksum) followed by chunks of type, flags, length and value, each padded
// to 4 bytes.
const (
	ipProtoSCTP        = 132
	sctpCommonHeader   = 12
	sctpChunkHeader    = 4
	sctpInitFixed      = 16 // initiate tag, a_rwnd, streams out/in, initial TSN
	chunkInit          = 1
	chunkInitAck       = 2
	chunkAbort         = 6
	abortFlagT         = 0x01 // T bit: the tag is reflected, not our own
	paramStateCookie   = 7
	sctpReceiveWindow  = 65536
	sctpStreams        = 1
	identityCookieMark = "NPC1" // marks a cookie written by a raw probe server
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sctpHeader is the common header without the checksum.
type sctpHeader struct {
	SrcPort, DstPort uint16
	VTag             uint32
}

// sctpChunk is a chunk's type, flags and value (without header or padding).
type sctpChunk struct {
	Type, Flags uint8
	Value       []byte
}

// sctpInit is the fixed part of an INIT or INIT-ACK chunk plus its
// parameters (type, value) in order.
type sctpInit struct {
	InitiateTag   uint32
	ReceiveWindow uint32
	OutStreams    uint16
	InStreams     uint16
	InitialTSN    uint32
	Params        []sctpParam
}

type sctpParam struct {
	Type  uint16
	Value []byte
}

func pad4(n int) int { return (n + 3) &^ 3 }

// encodeSCTP builds a packet and fills in the CRC32c checksum. RFC 9260
// appendix A: the CRC is computed over the whole packet with the checksum
// field zero and stored so that its least significant byte comes first,
// which is the little-endian encoding of the reflected CRC32c value.
func encodeSCTP(h sctpHeader, chunks ...sctpChunk) []byte {
	size := sctpCommonHeader
	for _, c := range chunks {
		size += pad4(sctpChunkHeader + len(c.Value))
	}
	pkt := make([]byte, size)
	binary.BigEndian.PutUint16(pkt[0:], h.SrcPort)
	binary.BigEndian.PutUint16(pkt[2:], h.DstPort)
	binary.BigEndian.PutUint32(pkt[4:], h.VTag)
	off := sctpCommonHeader
	for _, c := range chunks {
		pkt[off] = c.Type
		pkt[off+1] = c.Flags
		binary.BigEndian.PutUint16(pkt[off+2:], uint16(sctpChunkHeader+len(c.Value)))
		copy(pkt[off+sctpChunkHeader:], c.Value)
		off += pad4(sctpChunkHeader + len(c.Value))
	}
	binary.LittleEndian.PutUint32(pkt[8:], sctpChecksum(pkt))
	return pkt
}

// sctpChecksum is the CRC32c of a packet, its checksum field read as zero.
func sctpChecksum(pkt []byte) uint32 {
	var zero [4]byte
	sum := crc32.Update(0, castagnoli, pkt[:8])
	sum = crc32.Update(sum, castagnoli, zero[:])
	return crc32.Update(sum, castagnoli, pkt[12:])
}

// decodeSCTP checks the checksum and splits a packet into header and chunks.
func decodeSCTP(pkt []byte) (sctpHeader, []sctpChunk, error) {
	if len(pkt) < sctpCommonHeader+sctpChunkHeader {
		return sctpHeader{}, nil, fmt.Errorf("SCTP packet of %d bytes is too short", len(pkt))
	}
	if binary.LittleEndian.Uint32(pkt[8:]) != sctpChecksum(pkt) {
		return sctpHeader{}, nil, errors.New("SCTP checksum mismatch")
	}
	h := sctpHeader{
		SrcPort: binary.BigEndian.Uint16(pkt[0:]),
		DstPort: binary.BigEndian.Uint16(pkt[2:]),
		VTag:    binary.BigEndian.Uint32(pkt[4:]),
	}
	var chunks []sctpChunk
	for off := sctpCommonHeader; off+sctpChunkHeader <= len(pkt); {
		length := int(binary.BigEndian.Uint16(pkt[off+2:]))
		if length < sctpChunkHeader || off+length > len(pkt) {
			return h, chunks, fmt.Errorf("SCTP chunk at offset %d has bad length %d", off, length)
		}
		chunks = append(chunks, sctpChunk{Type: pkt[off], Flags: pkt[off+1], Value: pkt[off+sctpChunkHeader : off+length]})
		off += pad4(length)
	}
	return h, chunks, nil
}

// encodeInit builds the value of an INIT or INIT-ACK chunk.
func encodeInit(in sctpInit) []byte {
	size := sctpInitFixed
	for _, p := range in.Params {
		size += pad4(4 + len(p.Value))
	}
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b[0:], in.InitiateTag)
	binary.BigEndian.PutUint32(b[4:], in.ReceiveWindow)
	binary.BigEndian.PutUint16(b[8:], in.OutStreams)
	binary.BigEndian.PutUint16(b[10:], in.InStreams)
	binary.BigEndian.PutUint32(b[12:], in.InitialTSN)
	off := sctpInitFixed
	for _, p := range in.Params {
		binary.BigEndian.PutUint16(b[off:], p.Type)
		binary.BigEndian.PutUint16(b[off+2:], uint16(4+len(p.Value)))
		copy(b[off+4:], p.Value)
		off += pad4(4 + len(p.Value))
	}
	// The last parameter's padding is not part of the chunk length.
	if n := len(in.Params); n > 0 {
		last := in.Params[n-1]
		b = b[:size-(pad4(4+len(last.Value))-(4+len(last.Value)))]
	}
	return b
}

// decodeInit parses the value of an INIT or INIT-ACK chunk.
func decodeInit(v []byte) (sctpInit, error) {
	if len(v) < sctpInitFixed {
		return sctpInit{}, fmt.Errorf("INIT chunk value of %d bytes is too short", len(v))
	}
	in := sctpInit{
		InitiateTag:   binary.BigEndian.Uint32(v[0:]),
		ReceiveWindow: binary.BigEndian.Uint32(v[4:]),
		OutStreams:    binary.BigEndian.Uint16(v[8:]),
		InStreams:     binary.BigEndian.Uint16(v[10:]),
		InitialTSN:    binary.BigEndian.Uint32(v[12:]),
	}
	for off := sctpInitFixed; off+4 <= len(v); {
		length := int(binary.BigEndian.Uint16(v[off+2:]))
		if length < 4 || off+length > len(v) {
			return in, fmt.Errorf("INIT parameter at offset %d has bad length %d", off, length)
		}
		in.Params = append(in.Params, sctpParam{Type: binary.BigEndian.Uint16(v[off:]), Value: v[off+4 : off+length]})
		off += pad4(length)
	}
	return in, nil
}

// identityFromCookie reads the identity a raw probe server put in its State
// Cookie; ok is false for a cookie from anything else (a kernel SCTP stack).
func identityFromCookie(in sctpInit) (identity string, ok bool) {
	for _, p := range in.Params {
		if p.Type == paramStateCookie && len(p.Value) >= len(identityCookieMark) &&
			string(p.Value[:len(identityCookieMark)]) == identityCookieMark {
			return cleanIdentity(p.Value[len(identityCookieMark):]), true
		}
	}
	return "", false
}
