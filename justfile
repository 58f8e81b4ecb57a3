# Convenience recipes; CI and the README never need just.

default: test

# every test layer; the kernel tests run when you are root
test:
    go test ./...

# build the binary into ./bin
build:
    go build -o bin/netlab ./cmd/netlab

# gofmt, go vet and staticcheck
lint:
    .ci/gofmt-check .
    go vet ./...
    go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# fuzz the lab file loader (default 10 minutes)
fuzz time="10m":
    go test ./lab/labfile -run '^$' -fuzz FuzzParse -fuzztime {{time}} -parallel 1

# regenerate golden files, then show what changed
update:
    go test ./... -args -update || true
    NETLAB_UPDATE=1 go test ./cmd/netlab/ || true
    git diff --stat -- '*testdata*'

# netlab beside the raw-netlink baseline, process against process, in interleaved rounds; one table of medians (root)
bench sizes="100,1000,2000" rounds="3" shapes="star,chain":
    @echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)'); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); kernel $(uname -r)"
    go test -run '^$' -bench '^BenchmarkLabs$' -benchtime 1x -timeout 4h ./internal/labbench/ -args -sizes {{sizes}} -rounds {{rounds}} -shapes {{shapes}}

# netlab as root beside netlab as an unused uid (rootless), in interleaved rounds; one table of medians and ratios (root)
bench-rootless sizes="100" rounds="3" shapes="star,chain" uid="0":
    @echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)'); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); kernel $(uname -r)"
    go test -run '^$' -bench '^BenchmarkRootless$' -benchtime 1x -timeout 4h ./internal/labbench/ -args -sizes {{sizes}} -rounds {{rounds}} -shapes {{shapes}} -uid {{uid}}

# a CPU profile of netlab's in-process up of one generated lab, and its top functions (root)
profile shape="star" n="1000":
    go test -c -o /tmp/netlab-kernel.test ./lab/kernel/
    /tmp/netlab-kernel.test -test.run '^$' -test.bench '^BenchmarkReconcile$/^{{shape}}-{{n}}$/^netlab-up$' -test.benchtime 1x -upprofile /tmp/netlab-up.pprof -sizes {{n}}
    go tool pprof -top -nodecount 40 /tmp/netlab-kernel.test /tmp/netlab-up.pprof

# redraw docs/diagrams/*.svg from the shipped labs (a test fails when they are stale)
docs:
    mkdir -p docs/diagrams
    rm -f docs/diagrams/*.svg
    for f in topologies/*.yaml; do go run ./cmd/netlab render "$f" -o svg --file "docs/diagrams/$(basename "$f" .yaml).svg"; done
    NETLAB_UPDATE=1 go test ./cmd/netlab -run TestReference

# run netlab tui in tmux against the default lab, send traffic, check the counters move (root, tmux)
tui-demo:
    bash scripts/tui-tmux.sh
