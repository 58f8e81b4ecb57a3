// Package capture reads the frames one interface of a node sends and
// receives, from inside the node's namespace (an AF_PACKET socket that a
// kernel.NetNS opens: lab/kernel's Linux, or kerneltest's fake), decodes them with lab/packet, and optionally writes them to
// a pcap file. Nothing is needed on the machine: no tcpdump.
package capture

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/packet"
	"netlab/lab/state"
)

// Packet is one captured frame.
type Packet struct {
	Time     time.Time
	Data     []byte // the bytes captured (at most SnapLen)
	OrigLen  int    // the frame's length on the wire
	Outgoing bool   // sent by the interface, not received
	Frame    *packet.Frame
}

// Options shape a capture.
type Options struct {
	Filter packet.Filter
	Count  int       // stop after this many matching frames; 0 for no limit
	Pcap   io.Writer // when set, every matching frame is written here as pcap
	// Ready, when set, is called once the socket is open, so a caller
	// (a test) can start the traffic it wants to see.
	Ready func()
}

// SnapLen is the most bytes kept of one frame; a veth with GRO can hand
// over frames far larger than its MTU.
const SnapLen = 65535 + 14

// Run captures, with a socket that ns opens, on interface ifname of node until ctx ends or Count frames
// matched, calling fn for each matching frame. It returns nil when it
// stopped for either reason, and closes its socket before returning.
// Equivalent to: ip netns exec LAB.NODE tcpdump -i IFNAME [-c N] [-w FILE]
func Run(ctx context.Context, ns kernel.NetNS, labName, node, ifname string, opts Options, fn func(Packet) error) error {
	c, err := ns.ListenPacketLink(state.NetNSName(labName, node), ifname)
	if err != nil {
		return err
	}
	defer c.Close()
	var pw *packet.PcapWriter
	if opts.Pcap != nil {
		if pw, err = packet.NewPcapWriter(opts.Pcap, SnapLen); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	if opts.Ready != nil {
		opts.Ready()
	}
	buf := make([]byte, SnapLen)
	n := 0
	for {
		info, err := c.ReadPacket(buf)
		if err != nil {
			if ctx.Err() != nil && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed)) {
				return nil
			}
			return err
		}
		data := buf[:info.Len]
		f := packet.Decode(data)
		if !opts.Filter.Match(f) {
			continue
		}
		p := Packet{Time: info.Time, Data: append([]byte(nil), data...), OrigLen: info.OrigLen, Outgoing: info.Outgoing, Frame: f}
		if pw != nil {
			if err := pw.WritePacket(p.Time, p.Data, p.OrigLen); err != nil {
				return err
			}
		}
		if err := fn(p); err != nil {
			return err
		}
		n++
		if opts.Count > 0 && n >= opts.Count {
			return nil
		}
	}
}
