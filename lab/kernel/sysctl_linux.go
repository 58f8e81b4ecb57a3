package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// SysctlMissing lists the keys without a file under /proc/sys in the
// namespace, or in a fresh one for netns "". /proc/sys/net shows the
// sysctls of the reading thread's namespace.
func (k *Linux) SysctlMissing(ctx context.Context, netnsName string, keys []string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var missing []string
	check := func() error {
		for _, key := range keys {
			path, err := sysctlPath(key)
			if err != nil {
				return err
			}
			st, err := os.Stat(path)
			switch {
			case errors.Is(err, os.ErrNotExist), err == nil && st.IsDir():
				missing = append(missing, key)
			case err != nil:
				return fmt.Errorf("sysctl %s: %w", key, err)
			}
		}
		return nil
	}
	if netnsName == "" {
		if err := InFreshNetNS(check); err != nil {
			return nil, fmt.Errorf("look up sysctls in a new namespace: %w", err)
		}
		return missing, nil
	}
	c, err := k.conn(netnsName)
	if err != nil {
		return nil, err
	}
	if err := InNetNS(c.fd, check); err != nil {
		return nil, fmt.Errorf("look up sysctls: %w", err)
	}
	return missing, nil
}

// readSysctls reads the given keys inside a namespace; a key the kernel
// does not have is left out.
func readSysctls(c *nsConn, keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	err := InNetNS(c.fd, func() error {
		for _, key := range keys {
			path, err := sysctlPath(key)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("sysctl %s: %w", key, err)
			}
			out[key] = strings.TrimSpace(string(data))
		}
		return nil
	})
	return out, err
}
