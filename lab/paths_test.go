package lab_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// One rule: no path is ever built from a name that has not passed the name
// validator. TestEveryPathIsReviewed finds every place in the module's
// non-test code that builds a path or hands a computed one to the file
// system, and fails unless the function it is in is listed here, with why
// its inputs cannot lead anywhere unexpected. A new path means a new entry:
// make the code take a name.Name (or call the validator and refuse), then
// say so here.
var reviewedPaths = map[string]string{
	// The builders of paths from lab and node names: each takes a Name or
	// runs the name rule itself and refuses.
	"lab/rundir.Dir.openFile":    "file names only from fileName, which takes a name.Name and refuses the zero Name; opened relative to the run directory's descriptor, O_NOFOLLOW",
	"lab/rundir.Dir.Write":       "file names from fileName",
	"lab/rundir.Dir.Remove":      "file names from fileName, or read from the directory and matched against them",
	"lab/rundir.(*Lock).Release": "file name from fileName",
	"lab/rundir.Dir.File":        "file name from fileName",
	"lab/rundir.notRegular":      "file name from fileName, for a message",
	"lab/kernel.netnsPathIn":     "refuses a namespace name unless it is LAB.NODE of valid names, or one valid bare name; the directory is the kernel's parameter (NetNSDir, a rootless netlab's checked directory, or the launcher's, refused unless clean and absolute)",

	// Paths from those builders, or constants.
	"lab/kernel.(*Linux).NetNSExists":    "path from netnsPath",
	"lab/kernel.(*Linux).createNetNS":    "path from netnsPath",
	"lab/kernel.(*Linux).deleteNetNS":    "path from netnsPath",
	"lab/kernel.unmountNetNS":            "callers pass a path from netnsPath",
	"lab/kernel.(*Linux).NetNSDel":       "path from netnsPath",
	"lab/kernel.isNetNSMount":            "callers pass a path from netnsPath",
	"lab/kernel.isStub":                  "callers pass a path from netnsPath",
	"lab/kernel.mountedAt":               "callers pass a path from netnsPath",
	"lab/kernel.(*watcher).sync":         "path from netnsPath",
	"lab/kernel.mountNodeSys":            "the constant /sys",
	"lab/kernel.bindEtc":                 "/etc/netns/LAB.NODE from a name checked by checkNetNSName (valid names only), and entry names read from that directory, one component each",
	"lab/kernel.lookPath":                "the command a user runs in their node, searched in PATH as a shell does: no name of netlab's goes into it",
	"lab/kernel.executable":              "paths from lookPath",
	"lab/kernel.sysctlPath":              "a sysctl key, not a name: refused unless it starts with net. and holds no slash and no ..",
	"lab/kernel.(*Linux).SysctlSet":      "path from sysctlPath",
	"lab/kernel.noDAD":                   "path from sysctlPath, of a key of state.NetNSSysctls",
	"lab/kernel.readSysctl":              "path from sysctlPath",
	"lab/kernel.(*Linux).SysctlProblems": "path from sysctlPath",
	"lab/kernel.(*Linux).SysctlTry":      "path from sysctlPath",
	"lab/kernel.exists":                  "callers pass a path from netnsPath",
	"lab/kernel.openNetNSIn":             "path from netnsPathIn",
	// Processes and hosts files (issue 14).
	"lab/kernel.openProc":              "/proc and a pid written by strconv.Itoa: digits only",
	"lab/kernel.procHandle.read":       "constant names of /proc/PID's files, opened relative to the process's open directory, O_NOFOLLOW",
	"lab/kernel.ProcStart":             "/proc and a pid, an int",
	"lab/kernel.startedAt":             "the constant /proc/stat",
	"lab/kernel.(*Linux).Listening":    "the constant /proc/thread-self/net/ and the protocol, refused unless tcp or udp",
	"lab/kernel.(*Linux).openEtcNetNS": "the kernel's own parameter (EtcNetNSDir, or a test's WithEtcNetNSDir), absolute and cleaned, opened in one openat2 that follows no link in any component, or a component at a time from / without following links",
	"lab/kernel.openDirAt":             "one component relative to an open directory, O_DIRECTORY|O_NOFOLLOW: a component of openEtcNetNS's directory, or a namespace name checkNetNSName or SplitNetNSName accepted",
	"lab/kernel.removeEmptyDir":        "rmdir of one component relative to the open /etc/netns directory: a namespace name checkNetNSName (HostsSet) accepted; never follows a link, and removes only an empty directory",
	"lab/kernel.(*Linux).HostsSet":     "the namespace name is refused unless checkNetNSName accepts it; the joined paths are for messages and ForeignError only, every open and unlink is relative to a directory opened without following links",
	"lab/kernel/kerneltest.markedLab":  "/proc and a pid, an int written by %d: digits only",
	"lab/kernel/kerneltest.hostsPath":  "the fake's name of a file it holds in memory, for messages and the transcript: nothing is opened",
	"lab/state.HostsSetCmd":            "writes a shell command, opens nothing; the namespace names come from the plan or the fake, validated",
	// The benchmark's raw baseline (issue 16).
	"internal/rawlab.netnsPath":  "refuses a namespace name unless lab and node both pass name.Problem",
	"internal/rawlab.down":       "paths from netnsPath; the names read from /run/netns",
	"internal/rawlab.marked":     "callers pass a path from netnsPath; opened O_NOFOLLOW",
	"internal/rawlab.sysctlPath": "a sysctl key, not a name: refused unless it starts with net. and holds no slash and no ..",
	"internal/rawlab.setSysctls": "paths from sysctlPath, of constant keys (state.NetNSSysctls, ip_forward)",
	// The rootless benchmark's look for the user's processes (issue 17).
	"internal/labbench.realUID": "/proc and a pid written by strconv.Itoa: digits only",

	// The simulated machines of multi-machine tests (issue 19): test
	// support, paths of /proc, constants and kerneltest's own names.
	"internal/machinetest.netlabBinary":      "the constant file name netlab in a directory os.MkdirTemp made",
	"internal/machinetest.removeBuild":       "the directory os.MkdirTemp made for the build",
	"internal/machinetest.privateTmpfs":      "callers pass the constant mount points of privateDirs (/run/netns, /run/netlab, /etc/netns)",
	"internal/machinetest.machineSys":        "the constant /sys",
	"internal/machinetest.openNetNS":         "NetNSDir and a namespace name of kerneltest's NewTestNS, refused unless it has kerneltest.Prefix and no dot or slash",
	"internal/machinetest.(*machine).nsPath": "/proc, a pid written by strconv.Itoa (digits only) and a constant namespace kind",
	"internal/machinetest.statNS":            "callers pass a path of nsPath or the constant /proc/self/ns/mnt",
	"internal/machinetest.(*machine).openNS": "paths of nsPath",
	"internal/machinetest.readNames":         "callers pass root's /proc/PID/root and a constant directory (NetNSDir, RunDir, /sys/class/net)",
	"internal/machinetest.(*machine).root":   "/proc and a pid written by strconv.Itoa: digits only",

	// The namespace directory itself: the kernel's parameter.
	"lab/kernel.(*Linux).prepareNetNSDir": "the kernel's directory of namespaces (NetNSDir, or WithNetNSDir's: a rootless netlab's checked directory)",
	"lab/kernel.(*Linux).listNetNS":       "the kernel's directory of namespaces; the names read are checked by netnsPath before any use",

	// The rootless directory (lab/rootless): its path is Find's, which
	// takes XDG_RUNTIME_DIR only when clean, absolute, a real directory of
	// the user's, mode 0700, or /tmp/netlab-UID of the same checks; the
	// holder's and a worker's come from the holder's command line and
	// NETLAB_ROOTLESS, checked the same way (RunHolder, Worker). Every file
	// in it has a constant name.
	"lab/rootless.Dir.NetNS":      "the checked directory and a constant",
	"lab/rootless.Dir.Etc":        "the checked directory and a constant",
	"lab/rootless.Dir.Run":        "the checked directory and a constant",
	"lab/rootless.Dir.socket":     "the checked directory and a constant",
	"lab/rootless.Dir.lockFile":   "the checked directory and a constant",
	"lab/rootless.Dir.holderFile": "the checked directory and a constant",
	"lab/rootless.Dir.logFile":    "the checked directory and a constant",
	"lab/rootless.findIn":         "XDG_RUNTIME_DIR refused unless clean, absolute and the user's own 0700 directory (ownDir), or /tmp/netlab-UID of a number; the result checked by ownDir after the mkdir",
	"lab/rootless.ownDir":         "callers pass Find's or a checked path; Lstat, so a link is refused, not followed",
	"lab/rootless.mappedTo":       "the constants /proc/self/uid_map and gid_map",
	"lab/rootless.Serve":          "paths of the checked directory",
	"lab/rootless.removeAll":      "paths of the checked directory; rmdir removes only empty directories",
	"lab/rootless.labsLeft":       "a path of the checked directory",
	"lab/rootless.labsIn":         "a path of the checked directory; the names read are only cut for a message",
	"lab/rootless.writeHolder":    "a path of the checked directory, opened O_EXCL|O_NOFOLLOW",
	"lab/rootless.readHolder":     "a path of the checked directory, opened O_NOFOLLOW|O_NONBLOCK, at most 4 KB read",
	"lab/rootless.openRegular":    "callers pass a path of the checked directory; opened O_NOFOLLOW|O_NONBLOCK, refused unless a regular file",
	"lab/rootless.lock":           "a path of the checked directory, Lstat (no link followed)",
	"lab/rootless.logTail":        "a path of the checked directory, at most its last 500 bytes shown",
	"lab/rootless.sweep":          "paths of the checked directory",
	"lab/rootless.exists":         "callers pass a path of the checked directory",
	"lab/rootless.nsInode":        "/proc, a pid (an int) and a constant namespace kind",
	"lab/rootless.leftover":       "/proc and a pid, an int",

	// The run directory itself: a path the program chose, not a name.
	"lab/rundir.Dir.open":    "the run directory's own path (rundir.Default, or a test's temporary directory) and its parent",
	"lab/rundir.Dir.refused": "the run directory's own path",

	// Test support: lab names from NewLabName, or checked by RegisterLab
	// (which refuses a dot or a slash); namespace names of those labs or
	// from the package's own randomName.
	"lab/kernel/kerneltest.labExists":    "a lab name from NewLabName",
	"lab/kernel/kerneltest.RemoveLab":    "a lab name from NewLabName or RegisterLab",
	"lab/kernel/kerneltest.deleteNetNS":  "namespace names of the package's own labs and bare namespaces",
	"lab/kernel/kerneltest.EtcNetNSFile": "a test namespace (Prefix, no slash) and a plain file name, refused otherwise",
	"lab/kernel/kerneltest.mkdir":        "paths from EtcNetNSFile",
	"lab/kernel/kerneltest.hostsNetNS":   "reads a namespace name out of a Seed line's path, as a key in memory: nothing is opened",

	// Command text: the shell equivalent a plan prints, never opened.
	"lab/state.HostsPath":               "text of a command: the plan's namespace name (LAB.NODE of valid names), never opened",
	"lab/state.ProcessLogPath":          "text of a command: names the plan's lab, node and process have passed, never opened",
	"lab/state.HostsDelCmd":             "text of a command, from HostsPath",
	"lab/apply.(*ProcessError).Details": "a label NODE/PROCESS before each log line shown to the user, never opened",
	"lab/apply.startProcess":            "the constant os.DevNull, when no log is kept",

	// Paths the user gave on the command line (a lab file, a pcap, JUnit
	// or render file to write): used as given, as any tool does, never
	// built from a name.
	"lab/labfile.ReadFile":     "the lab FILE argument",
	"lab/diag.RelFile":         "the lab FILE argument, made relative for messages",
	"cmd/netlab.displayPath":   "the lab FILE argument, made absolute for messages",
	"cmd/netlab.writeJUnit":    "the --junit PATH argument",
	"cmd/netlab.newCaptureCmd": "the -w PATH argument",
	"cmd/netlab.newRenderCmd":  "the --file/-o PATH argument",

	// Paths inside the binary's embedded files.
	"topologies.Exercises": "directory names read from the embedded file system",

	// Process logs in the run directory (issue 14).
	"lab/rundir.Dir.OpenLog":    "file names from logName, which takes name.Names and a process name it refuses unless state.ProcessNameProblem passes (no dot, no slash); renamed and opened relative to the run directory's descriptor, never through a link",
	"lab/rundir.Dir.CheckLog":   "file name from logName, as OpenLog; only lstat'd relative to the run directory's descriptor (never followed), and joined for the message",
	"lab/rundir.Dir.RemoveLogs": "names read from the directory, kept only when parseLogName reads them as the lab's logs; unlinked relative to the directory's descriptor",
	"lab/rundir.Dir.LogFile":    "file name from logName, for messages",
}

// notPaths are functions that join text with a slash that is no path:
// map keys and text for people.
var notPaths = map[string]string{
	"tui.(*Model).apply":            "map keys NODE/IFACE and NODE/CHAIN/TAG",
	"tui.(*Model).setProcesses":     "row keys NODE/PROCESS and NODE/PID",
	"tui.buildLinks":                "map keys NODE/IFACE",
	"tui.Model.paneColumns":         "a table cell: drops/errors",
	"tui.Model.sparkLine":           "a label NODE/IFACE",
	"tui.ruleDetail":                "rates: N/s",
	"lab/check.endpoint.String":     "text for people: NODE tcp/PORT",
	"cmd/netlab.writeStatus":        "a state: up/OPERSTATE",
	"cmd/netlab.flagName":           "a flag's two names for a message: -c/--count",
	"lab/labfile.(*decoder).prefix": "a hint: ADDR/LEN",
	// The fake kernel touches no file: a namespace stub is a name in memory,
	// written and read back as the text of a touch command.
	"lab/kernel/kerneltest.stubLine":           "transcript text: touch /run/netns/NAME",
	"lab/kernel/kerneltest.(*Fake).handLocked": "a seeded command's text, touch /run/netns/NAME, read into an in-memory name",

	// Processes, named NODE/PROCESS for people (issue 14).
	"cmd/netlab.stoppedText": "text for people: NODE/PROCESS (pid N)",
	"tui.procDetail":         "text for people: netlab logs NODE/PROCESS",
}

// fsCalls are the functions that take a path: a call to one with a path
// that is not a constant is a place a path reaches the file system.
var fsCalls = map[string]bool{
	"os.Open": true, "os.OpenFile": true, "os.Create": true, "os.ReadFile": true, "os.WriteFile": true,
	"os.Remove": true, "os.RemoveAll": true, "os.Mkdir": true, "os.MkdirAll": true, "os.Rename": true,
	"os.Symlink": true, "os.Link": true, "os.Stat": true, "os.Lstat": true, "os.ReadDir": true,
	"os.Chmod": true, "os.Chown": true, "os.Lchown": true, "os.Readlink": true, "os.Truncate": true,
	"os.OpenRoot": true, "os.DirFS": true,
	"syscall.Open": true, "syscall.Openat": true, "syscall.Mkdir": true, "syscall.Mkdirat": true,
	"syscall.Unlink": true, "syscall.Unlinkat": true, "syscall.Rename": true, "syscall.Renameat": true,
	"syscall.Stat": true, "syscall.Lstat": true, "syscall.Mkfifo": true,
	"unix.Open": true, "unix.Openat": true, "unix.Mount": true, "unix.Unmount": true, "unix.Statfs": true,
	"unix.Stat": true, "unix.Lstat": true, "unix.Unlinkat": true, "unix.Renameat": true,
	"netns.GetFromPath": true, "netns.GetFromName": true,
	"filepath.Abs": true, "filepath.Rel": true, "filepath.Glob": true, "filepath.WalkDir": true,
}

// pathSite is one place the code builds a path.
type pathSite struct {
	fn   string // "pkg.Func", "pkg.Type.Method", "pkg.(*Type).Method"
	pos  token.Position
	what string
}

func TestEveryPathIsReviewed(t *testing.T) {
	sites, err := findPathSites("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) == 0 {
		t.Fatal("no path built anywhere: the walk found no code")
	}
	used := make(map[string]bool)
	for _, s := range sites {
		_, reviewed := reviewedPaths[s.fn]
		_, exempt := notPaths[s.fn]
		if !reviewed && !exempt {
			t.Errorf("%s: %s in %s, which is not reviewed: build paths only from a name.Name (or validate and refuse), then add %q to reviewedPaths with why", s.pos, s.what, s.fn, s.fn)
		}
		used[s.fn] = true
	}
	for _, list := range []map[string]string{reviewedPaths, notPaths} {
		for fn := range list {
			if !used[fn] {
				t.Errorf("%s is listed but builds no path (any more): remove it from the list", fn)
			}
		}
	}
}

// TestPathWalkFindsAPath makes sure the walk can fail: a planted function
// that builds a lock path from a bare string is found, with each kind of
// building.
func TestPathWalkFindsAPath(t *testing.T) {
	src := `package p
import ("fmt"; "os"; "path/filepath")
func join(lab string) string { return filepath.Join("/run/netlab", lab+".lock") }
func concat(lab string) string { return "/run/netlab/" + lab }
func format(lab string) string { return fmt.Sprintf("/run/netlab/%s.json", lab) }
func open(p string) { os.Create(p) }
func literal() { os.Create("/run/netlab/x") }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range fileSites(fset, "p", f, nil) {
		got = append(got, s.fn)
	}
	sort.Strings(got)
	if want := []string{"p.concat", "p.format", "p.join", "p.open"}; !slices.Equal(got, want) {
		t.Errorf("walk found path building in %q, want %q", got, want)
	}
}

// findPathSites parses every non-test Go file of the module under root.
func findPathSites(root string) ([]pathSite, error) {
	fset := token.NewFileSet()
	files := make(map[string][]*ast.File) // by package directory, relative to root
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		files[filepath.ToSlash(rel)] = append(files[filepath.ToSlash(rel)], f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	consts := make(map[string]bool) // "pkgdir.Name" of every constant
	for dir, fs := range files {
		for _, f := range fs {
			for _, decl := range f.Decls {
				if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.CONST {
					for _, spec := range g.Specs {
						for _, n := range spec.(*ast.ValueSpec).Names {
							consts[dir+"."+n.Name] = true
						}
					}
				}
			}
		}
	}
	var sites []pathSite
	for dir, fs := range files {
		for _, f := range fs {
			sites = append(sites, fileSites(fset, dir, f, consts)...)
		}
	}
	return sites, nil
}

// fileSites finds the path building in one file of the package in dir.
func fileSites(fset *token.FileSet, dir string, f *ast.File, consts map[string]bool) []pathSite {
	imports := make(map[string]string) // local name -> import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		local := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			local = imp.Name.Name
		}
		imports[local] = p
	}
	isConst := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.BasicLit:
			return true
		case *ast.Ident:
			return consts[dir+"."+e.Name]
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				if p, ok := imports[x.Name]; ok && strings.HasPrefix(p, "netlab/") {
					return consts[strings.TrimPrefix(p, "netlab/")+"."+e.Sel.Name]
				}
			}
		}
		return false
	}
	var sites []pathSite
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		fn := dir + "." + funcName(fd)
		add := func(n ast.Node, what string) {
			sites = append(sites, pathSite{fn: fn, pos: fset.Position(n.Pos()), what: what})
		}
		// Function literals count as part of the function they are in.
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if n.Op == token.ADD && concatHasSlash(n) {
					add(n, "a string joined with \"/\"")
					return false // the outermost + only
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				call := pkgBase(imports[x.Name]) + "." + sel.Sel.Name
				switch {
				case call == "filepath.Join" || call == "path.Join":
					add(n, call)
				case call == "fmt.Sprintf" && len(n.Args) > 0 && formatJoinsText(n.Args[0]):
					add(n, "fmt.Sprintf of text next to a \"/\"")
				case fsCalls[call] && len(n.Args) > 0 && !isConst(pathArg(call, n)):
					add(n, call+" of a computed path")
				}
			}
			return true
		})
	}
	return sites
}

// pathArg is the argument of an fs call that carries the path: the second
// for the *at calls (after the directory's descriptor), else the first.
func pathArg(call string, c *ast.CallExpr) ast.Expr {
	if strings.HasSuffix(call, "at") && len(c.Args) > 1 {
		return c.Args[1]
	}
	return c.Args[0]
}

func pkgBase(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// concatHasSlash reports whether a + chain has among its operands a
// string literal that starts or ends with a slash: a piece of a path
// ("/run/netns/", "/", "netns/"), not text that holds one ("::/0", "B/s").
func concatHasSlash(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BinaryExpr:
		return e.Op == token.ADD && (concatHasSlash(e.X) || concatHasSlash(e.Y))
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return false
		}
		v, err := strconv.Unquote(e.Value)
		return err == nil && (strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/"))
	case *ast.ParenExpr:
		return concatHasSlash(e.X)
	}
	return false
}

// formatJoinsText reports whether a format string puts a slash next to a
// verb that can carry text (%s, %v, %q): a name could end up in a path.
// A number next to one ("/%d") cannot.
func formatJoinsText(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil || !strings.Contains(s, "/") {
		return false
	}
	for _, verb := range []string{"%s", "%v", "%q"} {
		if strings.Contains(s, verb+"/") || strings.Contains(s, "/"+verb) {
			return true
		}
	}
	return false
}

// funcName names a function declaration as reviewedPaths does.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	switch t := fd.Recv.List[0].Type.(type) {
	case *ast.StarExpr:
		return fmt.Sprintf("(*%s).%s", typeName(t.X), fd.Name.Name)
	default:
		return typeName(t) + "." + fd.Name.Name
	}
}

func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		return typeName(t.X)
	}
	return "?"
}
