package state

import "strings"

// ProcessCmd is the shell command that starts a process in a node as
// netlab does, without the log (written by ProcessStart to the run
// directory): ip netns exec NETNS env -C DIR NETLAB_PROCESS=MARKER ENV... ARGV... &.
// A process started by hand has no marker, env or dir: ip netns exec NETNS ARGV... &.
func ProcessCmd(netns, marker string, env []string, dir string, argv []string) string {
	var b strings.Builder
	b.WriteString("ip netns exec " + netns)
	if marker != "" || len(env) > 0 || dir != "" {
		b.WriteString(" env")
		if dir != "" {
			b.WriteString(" -C " + shellQuote(dir))
		}
		if marker != "" {
			b.WriteString(" " + ProcessEnv + "=" + shellQuote(marker))
		}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			b.WriteString(" " + k + "=" + shellQuote(v))
		}
	}
	for _, a := range argv {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString(" &")
	return b.String()
}

// HostsSetCmd is the shell command that writes a node's hosts file, as a
// here-document.
func HostsSetCmd(dir, netns, content string) string {
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	return "mkdir -p " + dir + "/" + netns + " && cat >" + dir + "/" + netns + "/hosts <<'EOF'\n" + content + "EOF"
}
