package rootless

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// The holder and a command talk over a SOCK_SEQPACKET unix socket: each
// message is one JSON object, and the request carries the command's file
// descriptors (SCM_RIGHTS) in the same message.

// request asks the holder to start a command. Its descriptors are, in
// this order: the netlab binary, the working directory, stdin, stdout
// and stderr.
type request struct {
	Args []string // argv, argv[0] included
	Env  []string
	// Tty: stdin is a terminal (the command's own pty), which the command
	// gets as its controlling terminal.
	Tty bool
}

// The descriptors of a request.
const (
	fdExe = iota
	fdDir
	fdStdin
	fdStdout
	fdStderr
	requestFDs
)

// reply is what the holder says: the command started (Pid), ended
// (Exit), or could not start (Err).
type reply struct {
	Pid  int    `json:",omitempty"`
	Exit *int   `json:",omitempty"`
	Err  string `json:",omitempty"`
}

// control is what a command says while its child runs: a signal to pass
// on.
type control struct {
	Signal int
}

// maxMessage bounds a message: arguments and environment included. The
// kernel sends a SOCK_SEQPACKET message whole or not at all, and refuses
// one longer than the socket's send buffer, 212992 bytes by default
// (net.core.wmem_default) less 32: the bound is under that, so that a
// message send accepts is one the kernel takes.
const maxMessage = 200 << 10

func send(c *net.UnixConn, v any, files ...*os.File) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > maxMessage {
		return fmt.Errorf("message of %d bytes (arguments and environment): more than the %d a rootless netlab passes to its holder", len(b), maxMessage)
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	if errors.Is(err, unix.EMSGSIZE) {
		return fmt.Errorf("message of %d bytes (arguments and environment): more than this machine's socket buffers take (net.core.wmem_default): %w", len(b), err)
	}
	return err
}

// errClosed is receive's error when the other side closed the socket.
var errClosed = errors.New("connection closed")

// receive reads one message into v and returns the descriptors it
// carried (there must be exactly wantFDs, or none when wantFDs is 0).
func receive(c *net.UnixConn, v any, wantFDs int) ([]*os.File, error) {
	b := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(4*requestFDs))
	n, oobn, flags, _, err := c.ReadMsgUnix(b, oob)
	if errors.Is(err, io.EOF) {
		// What package net makes of a read of nothing, which on a
		// SOCK_SEQPACKET socket is the other side's close.
		return nil, errClosed
	}
	if err != nil {
		return nil, err
	}
	files, ferr := rights(oob[:oobn])
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	switch {
	case ferr != nil:
		closeAll()
		return nil, ferr
	case n == 0 && oobn == 0:
		return nil, errClosed
	case flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0:
		closeAll()
		return nil, errors.New("message truncated")
	case len(files) != wantFDs:
		closeAll()
		return nil, fmt.Errorf("message with %d descriptors, want %d", len(files), wantFDs)
	}
	if err := json.Unmarshal(b[:n], v); err != nil {
		closeAll()
		return nil, fmt.Errorf("bad message: %w", err)
	}
	return files, nil
}

// rights returns the descriptors of a message's control data.
func rights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "received"))
		}
	}
	return files, nil
}
