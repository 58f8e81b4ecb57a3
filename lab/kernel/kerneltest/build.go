package kerneltest

import (
	"errors"
	"fmt"
	"os/exec"
)

// ErrNoGo is BuildNetlab's error when there is no go command on PATH:
// a test that runs the binary then skips.
var ErrNoGo = errors.New("the test builds netlab and needs go on PATH")

// BuildNetlab builds netlab's command (netlab/cmd/netlab) as the file
// bin, for the tests that run the binary as its users do.
func BuildNetlab(bin string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return ErrNoGo
	}
	if out, err := exec.Command(goBin, "build", "-o", bin, "netlab/cmd/netlab").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}
