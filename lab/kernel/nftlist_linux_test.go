package kernel

import (
	"fmt"
	"os"
	"testing"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"

	"netlab/lab/state"
)

// libraryTables is the summary of the tables the nftables library
// lists.
func libraryTables(conn *nftables.Conn) (nftTableSummary, error) {
	var sum nftTableSummary
	tables, err := conn.ListTables()
	if err != nil {
		return sum, err
	}
	for _, t := range tables {
		sum.note(t.Name, t.Family, ownedTable(t))
	}
	return sum, nil
}

// TestNFTTablesHereAgreesWithTheLibrary: the one-dump list of tables
// Observe reads first says what the nftables library (libraryTables)
// says of the same namespace, for each mix of tables: none; netlab's
// table in inet; a table of netlab's name in another family (not
// netlab's); a trace table left behind (no owner); a trace table a live
// socket owns (not left behind); and someone else's.
func TestNFTTablesHereAgreesWithTheLibrary(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a namespace of its own")
	}
	type table struct {
		name   string
		family nftables.TableFamily
		owned  bool
	}
	cases := map[string]struct {
		tables []table
		want   nftTableSummary
	}{
		"none":             {},
		"netlab's":         {[]table{{name: state.NFTableName, family: nftables.TableFamilyINet}}, nftTableSummary{netlab: true}},
		"name, not family": {[]table{{name: state.NFTableName, family: nftables.TableFamilyIPv4}}, nftTableSummary{}},
		"trace leftover":   {[]table{{name: TraceTablePrefix + "_1234", family: nftables.TableFamilyINet}}, nftTableSummary{traceLeftover: true}},
		"trace owned":      {[]table{{name: TraceTablePrefix, family: nftables.TableFamilyINet, owned: true}}, nftTableSummary{}},
		"all and others": {[]table{
			{name: "filter", family: nftables.TableFamilyIPv4},
			{name: state.NFTableName, family: nftables.TableFamilyINet},
			{name: TraceTablePrefix, family: nftables.TableFamilyIPv6},
			{name: "nat", family: nftables.TableFamilyIPv6},
		}, nftTableSummary{netlab: true, traceLeftover: true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := InFreshNetNS(func() error {
				var sock *netlink.Conn
				conn, err := nftables.New(nftables.AsLasting(), nftables.WithSockOptions(func(c *netlink.Conn) error {
					sock = c
					return nil
				}))
				if err != nil {
					return err
				}
				defer conn.CloseLasting()
				for _, tb := range tc.tables {
					if tb.owned { // held by conn's socket until the test ends
						if err := addOwnedTable(sock, tb.name, tb.family); err != nil {
							return err
						}
						continue
					}
					conn.AddTable(&nftables.Table{Name: tb.name, Family: tb.family})
				}
				if err := conn.Flush(); err != nil {
					return fmt.Errorf("make the tables: %w", err)
				}
				lib, err := libraryTables(conn)
				if err != nil {
					return err
				}
				got, err := nftTablesHere()
				if err != nil {
					return err
				}
				if lib != tc.want {
					t.Errorf("the library says %+v, want %+v", lib, tc.want)
				}
				if got != lib {
					t.Errorf("nftTablesHere = %+v, the library says %+v", got, lib)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
