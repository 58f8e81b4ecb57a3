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

# up, no-op up, plan and down of generated labs beside a raw-netlink baseline (root)
bench:
    go test -run '^$' -bench Reconcile -benchtime 3x ./lab/kernel/ | tee /tmp/netlab-bench.txt | go run ./internal/benchtable

# redraw docs/diagrams/*.svg from the shipped labs (a test fails when they are stale)
docs:
    mkdir -p docs/diagrams
    rm -f docs/diagrams/*.svg
    for f in topologies/*.yaml; do go run ./cmd/netlab render "$f" -o svg --file "docs/diagrams/$(basename "$f" .yaml).svg"; done
    NETLAB_UPDATE=1 go test ./cmd/netlab -run TestReference

# run netlab tui in tmux against the default lab, send traffic, check the counters move (root, tmux)
tui-demo:
    bash scripts/tui-tmux.sh
