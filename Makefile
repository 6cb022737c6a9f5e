# TradAI — run `make help` for the targets.
GO      ?= go
BIN     ?= bin/tradai
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help

.PHONY: help deps build test bench lint fuzz clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Download the Go modules
	$(GO) mod download

build: ## Build bin/tradai
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/tradai

test: ## Run vet, the gofmt check and the whole test suite with the race detector
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

bench: ## Run the benchmarks (figures go in docs/BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x -count 2 ./...

lint: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

fuzz: ## Run each fuzz target for 30s
	@for pkg in ./internal/config ./internal/datafile ./internal/importer ./internal/market ./internal/download ./internal/external ./internal/fixed ./internal/sim/binanceapi ./internal/exchange/binance; do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime 30s $$pkg || exit 1; done; done

clean: ## Remove build output
	rm -rf bin
