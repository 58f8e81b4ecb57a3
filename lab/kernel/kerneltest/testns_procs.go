package kerneltest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"netlab/lab/kernel"
)

// removeProcessesAndHosts stops every process in the lab's namespaces ns
// (a test's own: the namespaces of its lab), and removes the lab's hosts
// files, through netlab's own kernel code, as down does.
func removeProcessesAndHosts(lab string, ns []string) error {
	k := kernel.NewLinux()
	defer k.Close()
	ctx := context.Background()
	var errs []error
	for _, n := range ns {
		procs, err := k.Processes(ctx, n)
		if err != nil {
			continue // a stub or a namespace half made: nothing runs there
		}
		if len(procs) > 0 {
			if _, err := k.ProcessesStop(ctx, n, procs, time.Second); err != nil {
				errs = append(errs, fmt.Errorf("%s: stop its processes: %w", n, err))
			}
		}
	}
	files, err := k.HostsFiles(ctx, lab)
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range files {
		if err := k.HostsSet(ctx, n, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: remove its hosts file: %w", n, err))
		}
	}
	return errors.Join(errs...)
}
