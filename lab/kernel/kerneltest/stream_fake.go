package kerneltest

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// A fake TCP connection: two byte streams with unbounded buffers, so that
// a write never waits for the peer to read (as net.Pipe's does, and a
// real socket's does not until its buffers fill).

// stream is one direction of a connection.
type stream struct {
	mu     sync.Mutex
	buf    []byte
	eof    bool // the writer closed: reads return io.EOF once buf is drained
	gone   bool // the reader closed: writes fail
	wake   chan struct{}
	readDL deadline
}

func newStream() *stream { return &stream{wake: make(chan struct{}, 1)} }

func (s *stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *stream) read(b []byte) (int, error) {
	for {
		s.mu.Lock()
		switch {
		case s.gone:
			s.mu.Unlock()
			return 0, net.ErrClosed
		case len(s.buf) > 0:
			n := copy(b, s.buf)
			s.buf = s.buf[n:]
			s.mu.Unlock()
			return n, nil
		case s.eof:
			s.mu.Unlock()
			return 0, io.EOF
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.readDL.wait():
			if s.readDL.passed() {
				return 0, os.ErrDeadlineExceeded
			}
		}
	}
}

func (s *stream) write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return 0, syscall.EPIPE
	}
	if s.eof {
		return 0, net.ErrClosed
	}
	s.buf = append(s.buf, b...)
	s.signal()
	return len(b), nil
}

func (s *stream) closeWrite() {
	s.mu.Lock()
	s.eof = true
	s.mu.Unlock()
	s.signal()
}

func (s *stream) closeRead() {
	s.mu.Lock()
	s.gone = true
	s.buf = nil
	s.mu.Unlock()
	s.signal()
}

// streamConn is one end of a fake TCP connection.
type streamConn struct {
	rd, wr        *stream
	local, remote net.Addr
	once          sync.Once
}

// streamPair returns the two ends of a connection: a's writes are b's
// reads and the other way round.
func streamPair(aLocal, bLocal net.Addr) (a, b *streamConn) {
	ab, ba := newStream(), newStream()
	return &streamConn{rd: ba, wr: ab, local: aLocal, remote: bLocal},
		&streamConn{rd: ab, wr: ba, local: bLocal, remote: aLocal}
}

func (c *streamConn) Read(b []byte) (int, error) {
	n, err := c.rd.read(b)
	if err != nil && err != io.EOF {
		err = &net.OpError{Op: "read", Net: "tcp", Addr: c.remote, Err: err}
	}
	return n, err
}

func (c *streamConn) Write(b []byte) (int, error) {
	n, err := c.wr.write(b)
	if err != nil {
		err = &net.OpError{Op: "write", Net: "tcp", Addr: c.remote, Err: err}
	}
	return n, err
}

// Close ends both directions: the peer reads io.EOF, this end's reads
// fail.
func (c *streamConn) Close() error {
	c.once.Do(func() {
		c.wr.closeWrite()
		c.rd.closeRead()
		c.rd.readDL.set(time.Now())
	})
	return nil
}

func (c *streamConn) LocalAddr() net.Addr                { return c.local }
func (c *streamConn) RemoteAddr() net.Addr               { return c.remote }
func (c *streamConn) SetDeadline(t time.Time) error      { c.rd.readDL.set(t); return nil }
func (c *streamConn) SetReadDeadline(t time.Time) error  { c.rd.readDL.set(t); return nil }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return nil }
