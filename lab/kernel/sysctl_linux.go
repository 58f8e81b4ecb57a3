package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// sysctlPath maps a validated net.* key to its file under /proc/sys.
func sysctlPath(key string) (string, error) {
	if !strings.HasPrefix(key, "net.") || strings.Contains(key, "/") || strings.Contains(key, "..") {
		return "", fmt.Errorf("invalid sysctl key %q", key)
	}
	return filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")), nil
}

// SysctlSet writes a sysctl inside a namespace.
func (k *Linux) SysctlSet(ctx context.Context, netnsName, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := machineSafe(netnsName, "SysctlSet"); err != nil {
		return err
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return err
	}
	path, err := sysctlPath(key)
	if err != nil {
		return err
	}
	err = InNetNS(c.fd, func() error { return os.WriteFile(path, []byte(value), 0o644) })
	if err != nil {
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	return nil
}

// SysctlProblems finds the keys without a file under /proc/sys in the
// namespace, or in a fresh one for netns "", and those whose file root
// may not both read and write. /proc/sys/net shows the sysctls of the
// reading thread's namespace, and a file's mode is the kernel's own rule
// for it: the permission check of /proc/sys ignores capabilities, so
// root too is refused what the owner bits do not allow.
func (k *Linux) SysctlProblems(ctx context.Context, netnsName string, keys []string) (map[string]SysctlProblem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	problems := make(map[string]SysctlProblem)
	check := func() error {
		for _, key := range keys {
			path, err := sysctlPath(key)
			if err != nil {
				return err
			}
			st, err := os.Stat(path)
			switch {
			case errors.Is(err, os.ErrNotExist), err == nil && st.IsDir():
				problems[key] = SysctlAbsent
			case err != nil:
				return fmt.Errorf("sysctl %s: %w", key, err)
			case st.Mode().Perm()&0o200 == 0:
				problems[key] = SysctlReadOnly
			case st.Mode().Perm()&0o400 == 0:
				problems[key] = SysctlWriteOnly
			}
		}
		return nil
	}
	if netnsName == "" {
		if err := InFreshNetNS(check); err != nil {
			return nil, fmt.Errorf("look up sysctls in a new namespace: %w", err)
		}
		return problems, nil
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return nil, err
	}
	if err := InNetNS(c.fd, check); err != nil {
		return nil, fmt.Errorf("look up sysctls: %w", err)
	}
	return problems, nil
}

// SysctlTry writes and reads back each value in a fresh namespace.
func (k *Linux) SysctlTry(ctx context.Context, writes []SysctlWrite) ([]SysctlTrial, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]SysctlTrial, len(writes))
	try := func() error {
		for i, w := range writes {
			path, err := sysctlPath(w.Key)
			if err != nil {
				return err
			}
			if err := os.WriteFile(path, []byte(w.Value), 0o644); err != nil {
				out[i].Err = err
				continue
			}
			data, err := os.ReadFile(path)
			if err != nil {
				out[i].Err = fmt.Errorf("read back: %w", err)
				continue
			}
			out[i].ReadBack = strings.TrimSpace(string(data))
		}
		return nil
	}
	if err := InFreshNetNS(try); err != nil {
		return nil, fmt.Errorf("try sysctls in a new namespace: %w", err)
	}
	return out, nil
}

// isMissingSysctl reports whether a sysctl's read failed for a key the
// namespace does not have, or will not show: not an error of Observe's.
func isMissingSysctl(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EIO)
}
