package kernel

import (
	"fmt"
	"os/exec"

	"github.com/vishvananda/netns"
)

// StartIn starts cmd inside the named namespace. The child is forked from
// a thread that is inside the namespace for that moment only, so it
// inherits the namespace while netlab's own threads stay where they are.
// The caller waits for cmd as usual.
// Equivalent to: ip netns exec NETNS CMD...
func StartIn(netnsName string, cmd *exec.Cmd) error {
	path, err := netnsPath(netnsName)
	if err != nil {
		return err
	}
	fd, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", netnsName, err)
	}
	defer fd.Close()
	return InNetNS(fd, cmd.Start)
}
