package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// The classic libpcap file format (not pcapng), which every version of
// Wireshark and tcpdump reads: a 24-byte global header, then per packet a
// 16-byte record header and the captured bytes. netlab writes it in
// little-endian order with microsecond timestamps.
const (
	PcapMagic          = 0xa1b2c3d4 // microsecond timestamps
	PcapMagicNano      = 0xa1b23c4d // nanosecond timestamps
	LinkTypeEthernet   = 1
	DefaultSnapLen     = 262144
	pcapGlobalHdrLen   = 24
	pcapRecordHdrLen   = 16
	pcapVersionMajor   = 2
	pcapVersionMinor   = 4
	maxPcapRecordBytes = 1 << 24
)

// PcapWriter writes a pcap file.
type PcapWriter struct {
	w       io.Writer
	snapLen int
}

// NewPcapWriter writes the global header (Ethernet frames, snapLen bytes
// at most per packet; 0 means DefaultSnapLen) and returns a writer for
// the packets.
func NewPcapWriter(w io.Writer, snapLen int) (*PcapWriter, error) {
	if snapLen <= 0 {
		snapLen = DefaultSnapLen
	}
	var h [pcapGlobalHdrLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], PcapMagic)
	le.PutUint16(h[4:], pcapVersionMajor)
	le.PutUint16(h[6:], pcapVersionMinor)
	// thiszone and sigfigs stay 0.
	le.PutUint32(h[16:], uint32(snapLen))
	le.PutUint32(h[20:], LinkTypeEthernet)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &PcapWriter{w: w, snapLen: snapLen}, nil
}

// WritePacket writes one frame captured at t; origLen is its length on
// the wire, which may exceed len(data) when the capture truncated it.
func (p *PcapWriter) WritePacket(t time.Time, data []byte, origLen int) error {
	if len(data) > p.snapLen {
		data = data[:p.snapLen]
	}
	if origLen < len(data) {
		origLen = len(data)
	}
	var h [pcapRecordHdrLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], uint32(t.Unix()))
	le.PutUint32(h[4:], uint32(t.Nanosecond()/1000))
	le.PutUint32(h[8:], uint32(len(data)))
	le.PutUint32(h[12:], uint32(origLen))
	if _, err := p.w.Write(h[:]); err != nil {
		return err
	}
	_, err := p.w.Write(data)
	return err
}

// PcapHeader is a pcap file's global header.
type PcapHeader struct {
	Magic        uint32 // as written, after detecting the byte order
	VersionMajor uint16
	VersionMinor uint16
	SnapLen      uint32
	LinkType     uint32
}

// PcapRecord is one packet of a pcap file.
type PcapRecord struct {
	Time    time.Time
	Data    []byte
	OrigLen int
}

// PcapReader reads a classic pcap file of either byte order.
type PcapReader struct {
	r      io.Reader
	order  binary.ByteOrder
	nano   bool
	Header PcapHeader
}

// NewPcapReader reads and checks the global header.
func NewPcapReader(r io.Reader) (*PcapReader, error) {
	var h [pcapGlobalHdrLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("read pcap header: %w", err)
	}
	pr := &PcapReader{r: r}
	switch {
	case binary.LittleEndian.Uint32(h[0:]) == PcapMagic:
		pr.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[0:]) == PcapMagic:
		pr.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h[0:]) == PcapMagicNano:
		pr.order, pr.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h[0:]) == PcapMagicNano:
		pr.order, pr.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("not a pcap file: magic %x", h[0:4])
	}
	o := pr.order
	pr.Header = PcapHeader{
		Magic:        o.Uint32(h[0:]),
		VersionMajor: o.Uint16(h[4:]),
		VersionMinor: o.Uint16(h[6:]),
		SnapLen:      o.Uint32(h[16:]),
		LinkType:     o.Uint32(h[20:]),
	}
	return pr, nil
}

// Next reads the next record; it returns io.EOF at the clean end of the
// file.
func (pr *PcapReader) Next() (*PcapRecord, error) {
	var h [pcapRecordHdrLen]byte
	if _, err := io.ReadFull(pr.r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("truncated pcap record header: %w", err)
		}
		return nil, err
	}
	o := pr.order
	sec, frac := int64(o.Uint32(h[0:])), int64(o.Uint32(h[4:]))
	incl, orig := o.Uint32(h[8:]), o.Uint32(h[12:])
	if incl > maxPcapRecordBytes {
		return nil, fmt.Errorf("pcap record of %d bytes is implausible", incl)
	}
	data := make([]byte, incl)
	if _, err := io.ReadFull(pr.r, data); err != nil {
		return nil, fmt.Errorf("truncated pcap record: %w", err)
	}
	if !pr.nano {
		frac *= 1000
	}
	return &PcapRecord{Time: time.Unix(sec, frac), Data: data, OrigLen: int(orig)}, nil
}
