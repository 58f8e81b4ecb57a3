package main

import (
	"errors"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"netlab/lab"
	"netlab/lab/kernel"
	"netlab/lab/rootless"
	"netlab/lab/rundir"
	"netlab/lab/validate"
)

// A netlab run by a user who is not root hands each command that reads
// or changes the kernel to the user's holder (lab/rootless), which runs
// it again inside the user's own user namespace: that second netlab is a
// worker, root there, with the user's directory in place of /run/netns,
// /etc/netns and /run/netlab.

// worker is the user's rootless directory when this netlab is a command
// the holder started; nil otherwise (root, or a user's first netlab).
var worker *rootless.Dir

// kernelOptions are the options of every real kernel the commands open.
var kernelOptions []kernel.Option

// becomeWorker points the commands at the user's directory.
func becomeWorker(d rootless.Dir) error {
	uid, gid, err := rootless.OutsideIDs()
	if err != nil {
		return err
	}
	worker = &d
	runDir = rundir.At(d.Run())
	kernelOptions = []kernel.Option{
		kernel.WithNetNSDir(d.NetNS()),
		kernel.WithEtcNetNSDir(d.Etc()),
		kernel.WithOutsideIDs(uid, gid),
	}
	return nil
}

// refuseRootless fails, with the file's positions, a lab that asks for
// what a worker cannot do (validate.Rootless), before anything changes.
func refuseRootless(e *env, l *lab.Lab) error {
	if worker == nil {
		return nil
	}
	uid, gid, err := rootless.OutsideIDs()
	if err != nil {
		return err
	}
	d := validate.Rootless(l, uid, gid)
	if unix.Access(tunDevice, unix.R_OK|unix.W_OK) != nil {
		d.Append(validate.NoTunDevice(l)...)
	}
	if d.HasErrors() {
		d.Sort()
		_ = d.WriteText(e.stderr)
		return &exitCode{exitFailure}
	}
	return nil
}

// tunDevice is the device a tun or tap is made through.
const tunDevice = "/dev/net/tun"

// newLinux is the machine's kernel, as this netlab sees it.
func newLinux() *kernel.Linux { return kernel.NewLinux(kernelOptions...) }

// newLinuxOn is newLinux for one machine of a lab spread over several
// (--machine): the machine's own namespace is then the one netlab runs
// in (kernel.WithStartAsMachine).
func newLinuxOn(onMachine bool) *kernel.Linux {
	if !onMachine {
		return newLinux()
	}
	return kernel.NewLinux(append(slices.Clone(kernelOptions), kernel.WithStartAsMachine())...)
}

// launchDirs fills in where a launch finds its node: the user's
// directories for a worker, root's otherwise.
func launchDirs(l kernel.Launch) kernel.Launch {
	if worker != nil {
		l.NetNSDir, l.EtcDir = worker.NetNS(), worker.Etc()
	}
	return l
}

// errForward ends a command's parsing when it is to run in the holder:
// run then hands the whole command line over (rootless.Forward).
var errForward = errors.New("run in the rootless holder")

// kernelCommands are the commands that read or change the kernel: run by
// a user who is not root, they run in the holder.
var kernelCommands = map[string]bool{
	"plan": true, "up": true, "down": true, "status": true, "ls": true, "exec": true, "logs": true,
	"tui": true, "check": true, "ping": true, "trace": true, "capture": true, "conntrack": true,
}

// isNetlabBinary is set by main: the running program is netlab's command
// line, which the holder can start again with the same arguments.
var isNetlabBinary bool

// geteuid is os.Geteuid, which a test may replace to be a user.
var geteuid = os.Geteuid

// forwardHere reports whether cmd, now that its flags and arguments
// passed their checks, is to run in the holder.
func forwardHere(cmd *cobra.Command) bool {
	if !isNetlabBinary || testKernel != nil || worker != nil || geteuid() == 0 {
		return false
	}
	top := cmd
	for top.HasParent() && top.Parent().HasParent() {
		top = top.Parent()
	}
	return kernelCommands[top.Name()]
}

// newHolderCmd is the holder, which a user's netlab starts itself as:
// hidden, since only netlab calls it.
func newHolderCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:                rootless.HolderCommand + " DIR",
		Short:              "Hold a user's labs (netlab's own)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return &exitCode{rootless.RunHolder(args, e.stderr)}
		},
	}
}

// streamFile is the *os.File behind a stream, or def.
func streamFile(stream any, def *os.File) *os.File {
	if f, ok := stream.(*os.File); ok {
		return f
	}
	return def
}
