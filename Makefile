# Courier webhook pipeline. `make` (or `make help`) lists the targets.
# Modules come from go.work; `go test ./...` at a workspace root does not work,
# so every Go target loops over them.

SHELL := /bin/bash
.DEFAULT_GOAL := help

MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null | sed "s|^$(CURDIR)/||")
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO_TEST_FLAGS ?= -race -shuffle=on -count=1 -timeout 20m

# Point tests and the bench at what `make infra-up` started and still runs, unless the
# caller chose otherwise.
INFRA_KAFKA := $(shell p=.infra/kafka.pid; [ -f $$p ] && kill -0 $$(cat $$p) 2>/dev/null && { cat .infra/kafka.addr 2>/dev/null || echo 127.0.0.1:9092; })
INFRA_REDIS := $(shell p=.infra/redis.pid; [ -f $$p ] && kill -0 $$(cat $$p) 2>/dev/null && { cat .infra/redis.addr 2>/dev/null || echo 127.0.0.1:6379; })
ifneq ($(INFRA_KAFKA),)
export KAFKA_BROKERS ?= $(INFRA_KAFKA)
endif
ifneq ($(INFRA_REDIS),)
export REDIS_ADDR ?= $(INFRA_REDIS)
endif

.PHONY: help
help: ## list targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build every service binary into bin/
	@mkdir -p bin
	@for svc in gateway normalizer dispatcher; do \
		echo "go build $$svc"; \
		(cd $$svc && CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o ../bin/$$svc ./cmd/$$svc) || exit 1; \
	done

.PHONY: test
test: ## every module's unit and integration tests with -race, against a real Kafka and Redis it starts (and stops) when none is running
	@bash scripts/with-infra.sh $(MAKE) --no-print-directory test-modules

# test-modules is `make test` without the infrastructure set-up: it uses whatever
# KAFKA_BROKERS / REDIS_ADDR say (or testcontainers).
.PHONY: test-modules
test-modules:
	@echo "KAFKA_BROKERS=$${KAFKA_BROKERS:-<unset>} REDIS_ADDR=$${REDIS_ADDR:-<unset>} CI=$${CI:-<unset>}"
	@mkdir -p bin && (cd deployments && go build -o ../bin/testreport ./cmd/testreport)
	@set -o pipefail; rm -f bin/test-summary.txt; fail=0; for m in $(MODULES); do \
		echo "== go test $$m"; \
		(cd $$m && go test -json $(GO_TEST_FLAGS) ./... 2>&1) | bin/testreport -name $$m -summary bin/test-summary.txt || fail=1; \
	done; echo "== summary"; cat bin/test-summary.txt; exit $$fail

.PHONY: test-unit
test-unit: ## unit tests only (-short; integration tests skip), no infrastructure needed
	@fail=0; for m in $(MODULES); do \
		(cd $$m && go test -short -count=1 ./...) || fail=1; \
	done; exit $$fail

.PHONY: vet
vet: ## go vet every module
	@fail=0; for m in $(MODULES); do (cd $$m && go vet ./...) || fail=1; done; exit $$fail

.PHONY: fmt
fmt: ## gofmt every Go file
	@gofmt -s -w $$(git ls-files '*.go')

.PHONY: tidy
tidy: ## go mod tidy every module, then go work sync
	@for m in $(MODULES); do (cd $$m && go mod tidy) || exit 1; done
	@go work sync

.PHONY: infra-up
infra-up: ## start a real Kafka 4.x (KRaft, 127.0.0.1:9092) and Redis (127.0.0.1:6379), installing what is missing
	@bash scripts/infra-up.sh

.PHONY: infra-down
infra-down: ## stop exactly the Kafka and Redis that infra-up started
	@bash scripts/infra-down.sh

# ---- run and operate (deployments/README.md) ----------------------------------

# KAFKA_BROKERS/REDIS_ADDR exported above because `make infra-up` ran are for the
# tests; `make run` uses a broker/Redis only when you set them yourself.
DEVRUN_UNSET := $(if $(filter file,$(origin KAFKA_BROKERS)),-u KAFKA_BROKERS) $(if $(filter file,$(origin REDIS_ADDR)),-u REDIS_ADDR)

.PHONY: run
run: build ## start the whole pipeline locally: embedded Kafka + Redis unless you set KAFKA_BROKERS/REDIS_ADDR (Ctrl-C stops it)
	@cd deployments && go build -o ../bin/devrun ./cmd/devrun
	@exec env $(DEVRUN_UNSET) bin/devrun

.PHONY: demo
demo: ## with `make run` up: post every seed payload and print the canonical events as they arrive
	@cd deployments && go run ./cmd/demo $(DEMO_FLAGS)

.PHONY: up
up: ## docker compose: build the images and start Kafka, Redis and the three services, waiting for health
	docker compose up --build --detach --wait

.PHONY: down
down: ## docker compose: stop everything and delete its volumes (Kafka data, Redis, gateway spool)
	docker compose down --volumes --remove-orphans

# ---- end-to-end proof (docs/BENCHMARKS.md, deployments/internal/e2e) -----------

.PHONY: bench
bench: build ## load + latency report vs HTTP-only and kafka-go baselines, on the real Kafka/Redis of `make infra-up` (~4 min)
	@cd deployments && go run ./cmd/bench

.PHONY: chaos
chaos: build ## fault injection with per-fault audit on its own Kafka/Redis (39092/36379, .infra-chaos); CHAOS_QUICK=1 for short outages
	@cd deployments && go run ./cmd/chaos
