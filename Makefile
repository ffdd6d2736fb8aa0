# Waypost developer commands. The README's two commands are `make run` and
# `make test`; .ci/run calls `make test`.

GO       ?= go
SQLC     ?= $(shell command -v sqlc 2>/dev/null || echo $(HOME)/go/bin/sqlc)
SQLC_VERSION := v1.31.1

.PHONY: run test test-go test-ui test-js lint-api check generate sqlc-install postgres ui build

## run: start PostgreSQL if needed, apply migrations, run manager + worker + provider
run: postgres ui
	@if [ -z "$$WAYPOST_SECRET_KEY" ]; then scripts/dev-secret-key.sh >/dev/null; fi
	WAYPOST_SECRET_KEY="$${WAYPOST_SECRET_KEY:-$$(cat .waypost-dev-secret)}" $(GO) run ./cmd/waypost all

## test: every test (Go with -race on real PostgreSQL, generated code freshness, UI and JS SDKs)
test: postgres check test-go test-ui test-js lint-api

## The SDK is its own modules (sdk/, sdk/openfeature/): `./...` from the
## root does not reach them, so they are tested (and vetted) on their own.
GO_SDK_MODULES := sdk sdk/openfeature

test-go:
	$(GO) test -race -count=1 ./...
	@for m in $(GO_SDK_MODULES); do echo "== go test $$m"; (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done

check:
	$(GO) vet ./...
	@for m in $(GO_SDK_MODULES); do (cd $$m && $(GO) vet ./... && $(GO) mod tidy -diff) || exit 1; done
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@if [ -x "$(SQLC)" ]; then $(SQLC) diff && echo "sqlc: generated code is fresh"; \
	 else echo "sqlc not installed: run 'make sqlc-install' to check generated code"; [ -z "$$CI" ] || exit 1; fi

test-ui:
	@if [ -f ui/package.json ]; then scripts/test-ui.sh; fi

test-js:
	@if [ -f sdk/js/package.json ]; then scripts/test-js.sh; fi

## lint-api: api/openapi.json passes Redocly's strict recommended rules (needs npm)
lint-api:
	@if command -v npm >/dev/null; then cd tools/openapi && npm ci --no-audit --no-fund --silent && npm run --silent lint; \
	 else echo "npm not installed: skipping the OpenAPI lint"; [ -z "$$CI" ] || exit 1; fi

## generate: regenerate db/ from sql/ with sqlc
generate:
	$(SQLC) generate

sqlc-install:
	$(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

## postgres: make sure the local PostgreSQL answers (starts the Debian cluster if not)
postgres:
	@scripts/ensure-postgres.sh

## ui: build the dashboard when its sources are newer than the build (needs npm)
ui:
	@if [ -f ui/package.json ]; then scripts/build-ui.sh; fi

build: ui
	$(GO) build -o bin/waypost ./cmd/waypost

## bench-eval: Go and Node SDK evaluation of the 5 rules x 3 clauses flag, Node/Go ratio
.PHONY: bench-eval bench-ofrep
bench-eval:
	scripts/bench-eval.sh

## bench-ofrep: OFREP single-flag and bulk req/s with wrk, provider on one core, vs a bare net/http handler
bench-ofrep:
	scripts/bench-ofrep.sh

## bench: every benchmark, each bounded in time, into docs/benchmarks.md (BENCH_QUICK=1: a smoke run)
.PHONY: bench
bench: postgres
	scripts/bench.sh
