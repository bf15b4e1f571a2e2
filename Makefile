# shopedge — build, run, test. See README.md.

GO      ?= go
BIN     ?= bin
PKGS    ?= ./...
BENCH_TIME ?= 200ms

.PHONY: all build run cluster test lint bench clean chromium

all: build

## build: bin/core, bin/edge, bin/testpay, bin/bench
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/core ./core
	$(GO) build -o $(BIN)/edge ./edge
	$(GO) build -o $(BIN)/testpay ./core/payment/testpay/cmd/testpay
	$(GO) build -o $(BIN)/bench ./bench/cmd/bench

## run: build, then start one core (embedded store, demo catalog) and one edge
run: build
	./scripts/run-local.sh

## cluster: build, then start a core, two edges and Varnish (when installed)
cluster: build
	./scripts/cluster.sh

## test: go vet, then every test with the race detector in random order,
## then what the race detector hides: the zero-allocation tests (its
## instrumentation allocates) and the TiKV conformance suite at full size
## (it slows the in-process cluster so much that it runs a smaller hot-key
## test there). First it installs Debian's varnish and varnish-modules for
## the end-to-end Varnish tests, and chromium for the browser test, when
## they are missing and it can (root or sudo); where it cannot, those tests
## fail naming the packages.
test:
	@command -v curl >/dev/null 2>&1 || { echo "installing curl (scripts/run-local.sh, tested in e2e, needs it)"; \
		apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
	./scripts/ensure-varnish.sh
	./scripts/ensure-chromium.sh
	$(GO) vet $(PKGS)
	$(GO) test -race -shuffle=on -timeout 12m $(PKGS)
	$(GO) test -count=1 -run 'Alloc' ./internal/httpserver/ ./internal/httpneg/ ./edge/httpapi/ ./edge/suggest/ ./edge/storefront/ ./edge/coreclient/ ./edge/search/
	$(GO) test -count=1 -run 'TestConformance' -timeout 5m ./store/tikv/

## chromium: Debian's chromium for the browser test, installed with apt-get
## when missing and the machine allows it (the test fails naming the
## package when it is not there)
chromium:
	./scripts/ensure-chromium.sh

## lint: gofmt (fails on unformatted files), go vet, go.mod/go.sum tidy
## (fails when `go mod tidy` would change them) and staticcheck, pinned as
## a tool in go.mod (`go tool staticcheck`: no separate install)
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff
	$(GO) tool staticcheck $(PKGS)

## bench: the Go benchmarks briefly, then the scenarios against the real
## binaries on loopback (each reports ratios to a baseline measured in the
## same run; results land in bench/results/)
bench: build
	$(GO) test -run='^$$' -bench=. -benchtime=$(BENCH_TIME) $(PKGS)
	$(BIN)/bench products -c 64 -d 10s
	$(BIN)/bench suggest -c 64 -d 10s
	$(BIN)/bench flashsale -buyers 2000 -units 100 -c 64

## clean: remove binaries and test artefacts (keeps ./data)
clean:
	rm -rf $(BIN) *.test *.prof
