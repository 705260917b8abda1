# callgw — see README.md. `make help` lists the targets.
.DEFAULT_GOAL := help
GO      ?= go
BIN     := bin/callgw
BENCH   := bin/callgw-bench
ARIPROXY := bin/ariproxy-bench
BENCH_OUT ?= bench-results.json
PKGS    := ./...
# Version stamping: the release is VERSION (also openapi.json's info.version),
# or the git tag on HEAD; `callgw version` prints it with the commit and date.
TAG     ?= $(shell git describe --tags --exact-match 2>/dev/null || echo v$$(cat VERSION))
COMMIT  ?= $(shell git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(TAG) -X main.commit=$(COMMIT) -X main.date=$(DATE)
FUZZTIME ?= 30s
# staticcheck, pinned: unused code, deprecated APIs and suspicious expressions fail the build.
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-14s %s\n",$$1,$$2}'

build: ## build bin/callgw and bin/callctl, stamped with the version
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/callgw
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/callctl ./cmd/callctl

print-ldflags: ## the -ldflags `make build` stamps the binaries with
	@echo '$(LDFLAGS)'

dev: build ## run gateway + worker + simulated PBX against the local RabbitMQ
	@./scripts/broker-check.sh
	./$(BIN) dev

test: ## gofmt check, go vet, staticcheck and every test (race detector on, real RabbitMQ)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)
	$(GO) test -race -count=1 -timeout 9m $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each (default 30s: make fuzz FUZZTIME=5m)
	GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME)

lint: ## gofmt check, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

bench-bus: ## amqpbus RPC against a bare amqp091-go loop, same run
	$(GO) test -run '^$$' -bench . -benchtime 3s ./amqpbus/

bench-sim: ## ARI simulator against a bare net/http floor, same run
	$(GO) test -run '^$$' -bench . ./asterisk/arisim/

bench-build: build ## build the harness and its ari-proxy contender (cmd/callgw-bench/ariproxy, a module of its own)
	$(GO) build -o $(BENCH) ./cmd/callgw-bench
	cd cmd/callgw-bench/ariproxy && $(GO) build -o ../../../$(ARIPROXY) .

bench: bench-build ## the benchmark harness, full run, then the scale-out run (~11 min; docs/performance.md, docs/scaling.md)
	./$(BENCH) --callgw $(BIN) --ariproxy $(ARIPROXY) --out $(BENCH_OUT) --profile-dir bin/bench-profiles
	$(MAKE) --no-print-directory scale

bench-quick: bench-build ## the same scenarios, shorter (~1.5 min), no soak
	./$(BENCH) --callgw $(BIN) --ariproxy $(ARIPROXY) --out $(BENCH_OUT) --quick

container-test: ## build the image, run gateway, worker and simulator as containers, restart the worker: its journal survives (podman or docker; skips, saying why, where none runs)
	@GO=$(GO) ./scripts/container-test.sh

redoc: ## refresh the API reference page's renderer (restapi/reference) from the npm package its package-lock.json pins
	./scripts/redoc.sh

cluster: ## start a local 3-node RabbitMQ cluster (ports 5681-5683) beside the default broker; prints the URLs
	@./scripts/cluster.sh start

chaos: ## fault suite under load, long: private single broker, then the cluster if up (tables in bin/chaos-report.md)
	@./scripts/chaos.sh

scale: build ## scale-out on one box: 1, 2, 4, 8 workers behind 2 gateways (on make cluster when up; docs/scaling.md)
	CALLGW_BIN=$(CURDIR)/$(BIN) CALLGW_SCALE=1 CALLGW_CHAOS_URLS="$$(test -f /tmp/callgw-cluster/urls && cat /tmp/callgw-cluster/urls)" \
		$(GO) test -count=1 -timeout 20m -v -run TestScaleOut ./deploy/chaos/ | grep -E '^\s+scale_test.go|^(ok|FAIL|---)'

cluster-stop: ## stop the local cluster and remove its files (the default broker is left alone)
	@./scripts/cluster.sh stop

.PHONY: help build dev test fuzz lint redoc bench-build bench bench-quick bench-bus bench-sim cluster cluster-stop chaos scale container-test
