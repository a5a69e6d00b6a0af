# The commands a newcomer needs: `make test` installs what the tests need and
# runs them; `make lint` is what CI checks besides; `make bench` prints our
# numbers beside the raw limits they are measured against.

GO          ?= go
PKGS        ?= ./...
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCH       ?= .
BENCHTIME   ?= 1s

.PHONY: all test test-deps lint bench bench-smoke fuzz serve

all: lint test

test-deps:
	@./scripts/install-test-deps.sh

test: test-deps
	$(GO) test -race -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

# Every benchmark once, with allocations, ours beside the raw limit (the
# sub-benchmarks of one benchmark are the side-by-side comparison).
bench: test-deps
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime=$(BENCHTIME) -count=1 $(PKGS)

# One iteration of every benchmark, so that they cannot rot (the daemon's
# load benchmarks for one second instead of ten, the scale benchmark on 300
# messages).
bench-smoke: test-deps
	DLETTER_LOAD_SECONDS=1 DLETTER_SCALE_MESSAGES=300 $(GO) test -run '^$$' -bench . -benchtime=1x -count=1 $(PKGS)

serve:
	$(GO) run ./cmd/dletter serve
