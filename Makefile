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
# why): compute-bound replays of thousands of candles, searches and
# decoding in one goroutine, the wasm runtime's compiles, the image build,
# a count of page faults. make test runs them without it, after the race
# run; the test of internal/racetest keeps these lists and the tests in
# step. The packages go longest first: go test starts them in this order,
# two at a time.
RACE_SKIPPED_TESTS := TestMalformedModules TestCacheDir TestEvictLeastRecentlyUsed TestEvictNoLeak TestImages \
	TestPaperDeploymentMakesTheBacktestsTrades TestRealCandlesDeploymentMakesTheBacktestsTrades \
	TestRuntimeDeploymentsMakeTheBacktestsTrades TestTakeoverReconcilesAndContinues TestFaultsChangeNoTrade \
	TestHostileDeploymentsDelayNoOther TestPrimeMakesHugePages TestStrategyRegistryWasm TestOpenForms \
	TestFilesEarlyTrades TestSamplersBeatRandom TestDecompressionBombs TestWriteParquetReadByPqarrow
RACE_SKIPPED_PKGS := ./internal/runner/ ./internal/images/ ./internal/wasm/ ./cmd/tradai/ \
	./internal/optimize/sample/ ./internal/strategyref/ ./internal/datafile/ ./internal/report/ ./internal/hugepage/
empty :=
space := $(empty) $(empty)

# The test binaries make test and make fuzz build are linked without DWARF
# (-w): nothing reads it (panics, race reports and fuzz failures are
# symbolised from the binary's own tables), and it halves each link (a
# race test binary: about 10 s to 5 s); make test links some 70.
TESTLDFLAGS := -w

# The race run tests three packages at a time, one more than the cores
# here: many of its tests wait on child processes, a browser or a timer,
# and with two at a time the cores stood idle nearly a fifth of the run.
test: cross ## Build for every platform, make lint, a short fuzz pass (3 s for each of a third of the targets), the whole test suite with the race detector, and without it the tests it slows past what they prove (RACE_SKIPPED_TESTS: compute-bound replays, searches and decoding, wasm compiles, the image build, a page-fault count)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory fuzz-ci
	$(GO) test -race -p 3 -count=1 -ldflags=$(TESTLDFLAGS) ./...
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
# FUZZSHARD=K/N searches only every Nth target of the sorted list (package
# folder, then name), from the Kth: a share of the targets given the whole
# FUZZTIME rather than every target a slice of it too short to get past
# loading its corpus.
FUZZTIME    ?= 60s
FUZZMINTIME ?= 5s
FUZZSHARD   ?= 1/1

fuzz: ## Run each fuzz target for FUZZTIME (default 60s; FUZZSHARD=K/N: every Nth from the Kth); failing inputs land in testdata/fuzz
	@set -e; bin=$$(mktemp -d); trap 'rm -rf "$$bin"' EXIT; \
	mod=$$($(GO) list -m); cache=$$($(GO) env GOCACHE)/fuzz; \
	k=$(word 1,$(subst /, ,$(FUZZSHARD))); n=$(word 2,$(subst /, ,$(FUZZSHARD))); \
	case "$$k.$$n" in [1-9]*.[1-9]*) case "$$k$$n" in *[!0-9]*) k=0;; esac;; *) k=0;; esac; \
	[ "$$k" -ge 1 ] && [ "$$k" -le "$$n" ] || { echo "FUZZSHARD=$(FUZZSHARD): want K/N, whole numbers with 1 <= K <= N" >&2; exit 2; }; \
	targets=$$(grep -r --include='*_test.go' '^func Fuzz' . | sed 's|^\./\(.*\)/[^/]*:func \(Fuzz[A-Za-z0-9_]*\).*|\1:\2|' | LC_ALL=C sort | awk -v k=$$k -v n=$$n '(NR - 1) % n == k - 1'); \
	echo "fuzzing $$(echo "$$targets" | wc -l) targets (share $$k of $$n) for $(FUZZTIME) each"; \
	built=; for dt in $$targets; do \
	  dir=$${dt%%:*}; t=$${dt#*:}; \
	  if [ "$$dir" != "$$built" ]; then $(GO) test -c -fuzz=. -ldflags=$(TESTLDFLAGS) -o "$$bin/fuzz.test" ./$$dir; built=$$dir; fi; \
	  echo "== $$dir $$t ($(FUZZTIME))"; \
	  rc=0; out=$$(cd $$dir && "$$bin/fuzz.test" -test.run='^$$' -test.fuzz="^$$t$$" -test.fuzztime=$(FUZZTIME) -test.fuzzminimizetime=$(FUZZMINTIME) -test.fuzzcachedir="$$cache/$$mod/$$dir" 2>&1) || rc=$$?; \
	  echo "$$out"; \
	  if [ $$rc -ne 0 ]; then \
	    if echo "$$out" | grep -q 'Failing input written' || ! echo "$$out" | grep -q '^    context deadline exceeded$$'; then exit $$rc; fi; \
	    echo "(not a failure: Go's fuzzing engine hit its own time limit while minimising a new interesting input; no failing input)"; \
	  fi; \
	done

# CI's pass: a third of the targets, 3 s each. Which third follows the
# commit (the count of commits behind HEAD), so successive commits search
# every target in turn; every target's seed corpus and past failures run
# in every go test regardless.
fuzz-ci: ## The short fuzz pass CI runs: a third of the targets (chosen by the commit) for 3s each
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s FUZZMINTIME=2s FUZZSHARD=$$(( $$(git rev-list --count HEAD 2>/dev/null || echo 0) % 3 + 1 ))/3

clean: ## Remove build output
	rm -rf bin
