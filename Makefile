# TradAI — run `make help` for the targets.
GO      ?= go
BIN     ?= bin/tradai
GOLANGCI_VERSION := v2.15.0
GOLANGCI := bin/golangci-lint
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help

.PHONY: help deps build cross images test bench lint fuzz fuzz-ci clean generate

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Download the Go modules, and ccxt for the simulator's proof (test/ccxt) where npm is installed
	$(GO) mod download
	@if command -v npm >/dev/null; then npm ci --prefix test/ccxt --no-audit --no-fund; else echo "npm not found: the simulator's ccxt proof will be skipped (install nodejs and npm, then make deps)"; fi

# templ, the generator of the web app's *_templ.go files (committed), at
# the version go.mod requires.
TEMPL_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/a-h/templ)

generate: ## Regenerate the web app's *_templ.go from its .templ files (the generated files are committed; a test checks they are current)
	$(GO) run github.com/a-h/templ/cmd/templ@$(TEMPL_VERSION) generate -path internal/web

build: ## Build bin/tradai
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/tradai

# The platforms the binary is built for. CGO is off: every dependency,
# the SQLite driver included, is pure Go. make lint (go vet and
# golangci-lint load the packages through the go command), make test's
# non-race step and the tests that build the binary (cmd/tradai,
# deploy/check, internal/images) build with CGO off too, so they reuse
# the linux/amd64 build's compiled packages (the module has no cgo code:
# the same files either way) instead of compiling the module once more.
CROSS ?= linux/amd64 darwin/arm64 windows/amd64

cross: ## Build the binary for every platform in CROSS (the output is discarded)
	@set -e; for p in $(CROSS); do \
	  echo "go build $$p"; \
	  CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -o /dev/null ./cmd/tradai; \
	done

# Container images, built without a Docker daemon or a base image
# (tools/images, internal/images; docs/operations.md): a static binary
# (CGO off, paths trimmed), then one OCI image layout per tier in
# bin/images/<image>. SOURCE_DATE_EPOCH (default: the commit's time) fixes
# every timestamp, so the same sources make the same digests.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)

images: ## Build the container images as OCI layouts in bin/images (tradai-server, -worker, -runner, -migrate, -sim)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/images/tradai ./cmd/tradai
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./tools/images -binary bin/images/tradai -out bin/images -version $(VERSION) -revision "$(REVISION)"

# The tests the race detector slows past what it would prove, or
# disturbs (each skips under it through internal/racetest.Skip, saying
# why): compute-bound replays of thousands of candles, the wasm runtime's
# compiles, the image build, a count of page faults. make test runs them without it, after the race run; the test of
# internal/racetest keeps these lists and the tests in step.
RACE_SKIPPED_TESTS := TestMalformedModules TestCacheDir TestImages \
	TestPaperDeploymentMakesTheBacktestsTrades TestRealCandlesDeploymentMakesTheBacktestsTrades \
	TestRuntimeDeploymentsMakeTheBacktestsTrades TestTakeoverReconcilesAndContinues TestFaultsChangeNoTrade \
	TestPrimeMakesHugePages
RACE_SKIPPED_PKGS := ./internal/wasm/ ./internal/images/ ./internal/runner/ ./internal/hugepage/
empty :=
space := $(empty) $(empty)

# The test binaries make test and make fuzz build are linked without DWARF
# (-w): nothing reads it (panics, race reports and fuzz failures are
# symbolised from the binary's own tables), and it halves each link (a
# race test binary: about 10 s to 5 s); make test links some 70.
TESTLDFLAGS := -w

test: cross ## Build for every platform, make lint, a short fuzz pass (3 s a target), the whole test suite with the race detector, and the tests too slow under it (RACE_SKIPPED_TESTS: replays, wasm compiles, the image build) without it
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory fuzz-ci
	$(GO) test -race -count=1 -ldflags=$(TESTLDFLAGS) ./...
	CGO_ENABLED=0 $(GO) test -count=1 -ldflags=$(TESTLDFLAGS) -run '^($(subst $(space),|,$(strip $(RACE_SKIPPED_TESTS))))$$' $(RACE_SKIPPED_PKGS)

bench: ## Run the benchmarks (figures go in docs/BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x -count 2 ./...

lint: $(GOLANGCI) ## gofmt check, go vet and golangci-lint (.golangci.yml)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	CGO_ENABLED=0 $(GO) vet ./...
	CGO_ENABLED=0 $(GOLANGCI) run ./...

# golangci-lint, pinned, built from source into bin/ (git-ignored) on first
# use; the module cache makes a rebuild fast. Changing the version here
# rebuilds it.
$(GOLANGCI): Makefile
	GOBIN=$(CURDIR)/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	@touch $@

# Fuzzing: every Fuzz* target of every package, one after the other, each
# for FUZZTIME of search. FUZZMINTIME bounds the time spent minimising each
# new input (Go's default of 60s would eat the budget). Seed corpora and
# the inputs that once failed live in <package>/testdata/fuzz/<FuzzName>/
# and run with every `go test`; a new failing input is written there: fix
# the bug and commit the input with the fix. Each package's instrumented
# test binary is built once (go test -c -fuzz) and runs each of its
# targets in the package's folder with go test's own fuzz cache, as
# `go test -fuzz` would, without building and linking it again per target.
FUZZTIME    ?= 60s
FUZZMINTIME ?= 5s

fuzz: ## Run each fuzz target for FUZZTIME (default 60s); failing inputs land in testdata/fuzz
	@set -e; bin=$$(mktemp -d); trap 'rm -rf "$$bin"' EXIT; \
	mod=$$($(GO) list -m); cache=$$($(GO) env GOCACHE)/fuzz; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  pkg=$$mod/$${dir#./}; \
	  $(GO) test -c -fuzz=. -ldflags=$(TESTLDFLAGS) -o "$$bin/fuzz.test" $$dir; \
	  for t in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$dir $$t ($(FUZZTIME))"; \
	    rc=0; out=$$(cd $$dir && "$$bin/fuzz.test" -test.run='^$$' -test.fuzz="^$$t$$" -test.fuzztime=$(FUZZTIME) -test.fuzzminimizetime=$(FUZZMINTIME) -test.fuzzcachedir="$$cache/$$pkg" 2>&1) || rc=$$?; \
	    echo "$$out"; \
	    if [ $$rc -ne 0 ]; then \
	      if echo "$$out" | grep -q 'Failing input written' || ! echo "$$out" | grep -q '^    context deadline exceeded$$'; then exit $$rc; fi; \
	      echo "(not a failure: Go's fuzzing engine hit its own time limit while minimising a new interesting input; no failing input)"; \
	    fi; \
	  done; done

fuzz-ci: ## The short fuzz pass CI runs: every target for 3s
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s FUZZMINTIME=2s

clean: ## Remove build output
	rm -rf bin
