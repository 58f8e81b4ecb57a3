package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"netlab/lab/capture"
	"netlab/lab/packet"
	"netlab/lab/validate"
)

func newCaptureCmd(e *env) *cobra.Command {
	var f labFlags
	var count int
	var proto, host, pcapPath string
	var port uint16
	var ether bool
	cmd := &cobra.Command{
		Use:   "capture [FILE | --lab NAME] NODE:IFACE",
		Short: "Print the packets an interface of a node sends and receives",
		Long: `capture prints one line per packet that an interface of a node of a running
lab sends or receives, decoded: Ethernet, ARP, IPv4, IPv6, ICMP, ICMPv6,
TCP, UDP, and VXLAN with its inner frame and the bytes of encapsulation
around it. It reads them from inside the node's namespace with a packet
socket: no tcpdump is needed.

--proto, --host and --port keep only the packets that match (a VXLAN
packet matches when its inner frame does). -w writes the packets that
match to a pcap file that Wireshark and tcpdump open. capture stops on
Ctrl-C, or after -c packets.`,
		Example: `  netlab capture c1:veth0
  netlab capture lab.yaml host:eth0 --proto icmp -c 10
  netlab capture --lab single-ip host:br0 --host 192.168.31.10 -w br0.pcap`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			fileArgs, rest, err := splitFileArgs(args, f.labName, 1)
			if err != nil {
				return err
			}
			node, ifname, ok := strings.Cut(rest[0], ":")
			if !ok || node == "" || ifname == "" {
				return usagef("name the interface as NODE:IFACE, got %q", rest[0])
			}
			if err := nodeArg(node); err != nil {
				return err
			}
			if p := validate.IfNameProblem(ifname); p != "" {
				return usagef("interface name %q %s", ifname, p)
			}
			if count < 0 {
				return usagef("-c must be 0 (until Ctrl-C) or more, got %d", count)
			}
			var flt packet.Filter
			if flt.Proto, err = packet.ParseProto(proto); err != nil {
				return usagef("--proto: %v", err)
			}
			if host != "" {
				if flt.Host, err = netip.ParseAddr(host); err != nil {
					return usagef("--host %q is not an IP address", host)
				}
			}
			flt.Port = port
			name, err := labNameOnly(fileArgs, f.labName)
			if err != nil {
				return err
			}
			if err := requireRoot(); err != nil {
				return err
			}
			s, err := runningLab(cmd.Context(), name)
			if err != nil {
				return err
			}
			if err := runningInterface(s, node, ifname); err != nil {
				return err
			}
			opts := capture.Options{Filter: flt, Count: count}
			if pcapPath != "" {
				pf, err := os.Create(pcapPath)
				if err != nil {
					return fileError("the pcap file", pcapPath, err)
				}
				defer pf.Close()
				bw := bufio.NewWriter(pf)
				defer bw.Flush()
				opts.Pcap = bw
			}
			ctx, cancel := signalContext()
			defer cancel()
			n := 0
			opts.Ready = func() {
				fmt.Fprintf(e.stderr, "netlab: capturing on %s:%s of lab %s; Ctrl-C to stop\n", node, ifname, name)
			}
			err = capture.Run(ctx, newNetNS(), name, node, ifname, opts, func(p capture.Packet) error {
				n++
				dir := "In "
				if p.Outgoing {
					dir = "Out"
				}
				line := p.Frame.String()
				if ether {
					line = p.Frame.WithEthernet()
				}
				fmt.Fprintf(e.stdout, "%s %s %s\n", p.Time.Format("15:04:05.000000"), dir, line)
				return nil
			})
			if err != nil {
				return fmt.Errorf("capture on node %s, interface %s: %w", node, ifname, err)
			}
			fmt.Fprintf(e.stderr, "netlab: %d packet(s) captured\n", n)
			return nil
		}),
	}
	f.addLab(cmd)
	cmd.Flags().IntVarP(&count, "count", "c", 0, "stop after `N` packets (0: until Ctrl-C)")
	cmd.Flags().StringVar(&proto, "proto", "", "keep only packets of protocol `PROTO`: "+strings.Join(packet.Protocols, ", "))
	cmd.Flags().StringVar(&host, "host", "", "keep only packets from or to the IP address `ADDR`")
	cmd.Flags().Uint16Var(&port, "port", 0, "keep only TCP or UDP packets from or to `PORT`")
	cmd.Flags().StringVarP(&pcapPath, "write", "w", "", "also write the packets to the pcap file `PATH` (Wireshark and tcpdump read it)")
	cmd.Flags().BoolVarP(&ether, "ether", "e", false, "show the Ethernet addresses of each frame")
	return cmd
}
