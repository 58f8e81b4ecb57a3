package check_test

import (
	"context"
	"io"
	"testing"
	"time"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/state"
)

// TestServiceSpreadsConnections brings up the k8s-service lab and opens
// connections to its ClusterIP, from the client (through the node's
// prerouting rules) and from the node itself (its output rules): both pods
// must get some. The lab's checks cannot show this, since a check's
// responder runs in one node and the DNAT picks a pod at random. With 40
// connections, all landing on one pod has a chance of 2^-39.
func TestServiceSpreadsConnections(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	l := courseLab(t, "k8s-service.yaml")
	up(t, l)
	for _, pod := range []string{"backend1", "backend2"} {
		ln, err := kernel.NewLinux().ListenIn(state.NetNSName(l.Name, pod), "tcp", ":8080")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte(pod))
				c.Close()
			}
		}()
	}
	// The kernel routes a packet the node makes itself before the output
	// hook translates it, so the node needs some route to the ClusterIP,
	// as a real node has its default route.
	ip(t, "-n", state.NetNSName(l.Name, "node"), "route", "add", "10.96.0.0/12", "dev", "eth0")
	for _, from := range []string{"client", "node"} {
		got := map[string]int{}
		for range 40 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			c, err := kernel.NewLinux().DialIn(ctx, state.NetNSName(l.Name, from), "tcp", "10.96.0.10:80")
			cancel()
			if err != nil {
				t.Fatalf("from %s: connect to the ClusterIP: %v", from, err)
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			name, err := io.ReadAll(c)
			c.Close()
			if err != nil {
				t.Fatalf("from %s: read: %v", from, err)
			}
			got[string(name)]++
		}
		t.Logf("from %s: %v", from, got)
		if got["backend1"] == 0 || got["backend2"] == 0 || got["backend1"]+got["backend2"] != 40 {
			t.Errorf("from %s: 40 connections to the ClusterIP went %v, want some to each of backend1 and backend2", from, got)
		}
	}
}
