# queuescale — run `make help` for the targets.
#
# Everything a target needs is installed or built by the target itself and
# cached (Go modules and build cache, npm cache, the control-plane binaries in
# $(CACHE)), so only the first run on a machine is slow.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
CACHE ?= $(or $(QUEUESCALE_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/queuescale)
export QUEUESCALE_CACHE := $(CACHE)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
EMULATOR := test/sqs-emulator
# Passed to `go test` by `make test`, e.g. TESTFLAGS='-run TestExporter -v'.
TESTFLAGS ?=

.PHONY: help build test bench lint verify generate demo deps deps-debian deps-emulator cluster-bins clean

help: ## Show this help.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## Build every binary into bin/.
	$(GO) build -o bin/ ./cmd/...

demo: deps ## Run the whole system on a local real control plane with a queue burst to watch.
	$(GO) run ./cmd/queuescale-demo $(DEMOFLAGS)

test: deps verify ## Run every test tier (unit, integration, end to end) with -race.
	$(GO) test -race -count=1 -timeout 60m $(TESTFLAGS) ./...

bench: deps ## Run the benchmarks recorded in docs/benchmarks.md.
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...

lint: ## gofmt, go vet and staticcheck (pinned in go.mod as a tool).
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

generate: ## Regenerate deep-copy code and the CRD with controller-gen (pinned in go.mod).
	$(GO) generate ./...

verify: generate ## Fail when generated files differ from what is committed.
	@git diff --exit-code --stat -- '*zz_generated*.go' manifests/base/crd || \
	  { echo "generated files are stale or uncommitted: run 'make generate' and commit them"; exit 1; }

deps: deps-debian deps-emulator cluster-bins ## Install Prometheus, openssl, the SQS emulator and the control-plane binaries.

deps-debian:
	@missing=""; \
	command -v prometheus >/dev/null && command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
	  echo ">> installing from Debian:$$missing (about 15 s)"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "Node.js >= 20 and npm are needed for the SQS emulator"; exit 1; }

deps-emulator: $(EMULATOR)/node_modules/.package-lock.json

$(EMULATOR)/node_modules/.package-lock.json: $(EMULATOR)/package-lock.json
	@echo ">> installing the SQS emulator (fauxqs, pinned by $(EMULATOR)/package-lock.json)"
	cd $(EMULATOR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

cluster-bins:
	@hack/cluster-bins.sh >/dev/null

clean: ## Remove bin/ (the cache in $(CACHE) is kept; delete it by hand).
	rm -rf bin/
