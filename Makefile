# loadbench: see README.md. Every target works on a fresh machine with Go alone.
GO      ?= go
BIN     ?= bin/loadbench
RUNS    ?= runs
# Extra flags for the compare of `make run` and `make gate`, e.g. COMPARE_FLAGS='--rounds 4'.
COMPARE_FLAGS ?=
# The full suite's per-package limit: the race-enabled end-to-end tests of
# cmd/loadbench take a few minutes on a loaded 2-core machine.
TEST_TIMEOUT  ?= 15m

.PHONY: build run gate test test-short tools vet bench perf clean

build:
	$(GO) build -o $(BIN) ./cmd/loadbench

# verdict_line names the verdict of loadbench's exit code $$code in the line
# `make run` and `make gate` end with.
define verdict_line
case $$code in \
	0) v="verdict PASS";; 1) v="verdict FAIL";; 4) v="verdict INCONCLUSIVE";; \
	2) v="no verdict: bad usage";; 3) v="no verdict: run error";; *) v="no verdict: unexpected exit";; esac; \
	echo "make $@: $$v (loadbench exit $$code: 0 pass, 1 fail, 4 inconclusive, 3 run error, 2 bad usage)"
endef

# compare runs `loadbench compare` over the built-in targets and ends with
# the verdict's line; it exits 0 on any verdict (pass, fail, inconclusive),
# loadbench's code on a run error or bad usage.
define compare
	@$(BIN) compare $(COMPARE_FLAGS); code=$$?; \
	$(verdict_line); \
	case $$code in 0|1|4) exit 0;; *) exit $$code;; esac
endef

# The main job: a full compare of the built-in targets (legacy vs per-request).
# Succeeds whenever the compare reached a verdict; see `gate` for pipelines.
run: build
	$(compare)

# The same compare as a pipeline step. Inconclusive is neither a pass nor a
# fail: the change was not shown within the budget nor over it in the time
# given. So an inconclusive compare is continued once (`compare --continue`:
# the same run directory, plan and seed, more rounds, the verdict over all of
# them; its error rates hold) instead of starting over. The last line names
# the verdict and loadbench's exit code: 0 pass, 1 fail, 2 bad usage, 3 run
# error, 4 inconclusive even after continuing (a continuation refused, as for
# a fixed --rounds N, leaves the first verdict). make succeeds on a pass only
# and, failing, exits 2 as make always does: a pipeline that needs the code
# itself reads that line, or runs bin/loadbench. The run directory is
# GATE_OUT, by default $(RUNS)/gate-<UTC timestamp>.
GATE_OUT ?=
gate: build
	@out="$(GATE_OUT)"; [ -n "$$out" ] || out="$(RUNS)/gate-$$(date -u +%Y%m%dT%H%M%SZ)"; \
	$(BIN) compare --out "$$out" $(COMPARE_FLAGS); code=$$?; \
	if [ $$code -eq 4 ]; then \
	  echo "make $@: inconclusive: continuing $$out once"; \
	  $(BIN) compare --continue "$$out"; next=$$?; [ $$next -eq 2 ] || code=$$next; \
	fi; \
	$(verdict_line); \
	exit $$code

# Programs some tests drive beyond Go. A missing one skips those tests, unless
# LOADBENCH_REQUIRE_TOOLS=1 (set by .ci/run) makes it a failure: say which.
tools:
	@if [ -n "$$LOADBENCH_REQUIRE_TOOLS" ] && [ "$$LOADBENCH_REQUIRE_TOOLS" != 0 ]; then \
	  then="will FAIL (LOADBENCH_REQUIRE_TOOLS is set)"; else then="will skip"; fi; \
	if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
	  echo "make: chromium not found: the HTML report's browser test (internal/report) $$then; install: sudo apt-get install -y --no-install-recommends chromium"; fi; \
	if ! command -v nginx >/dev/null 2>&1; then \
	  echo "make: nginx not found: the tests against a real nginx $$then; install: sudo apt-get install -y --no-install-recommends nginx (or run .ci/run)"; fi

# What CI runs (.ci/run): vet, formatting, and the race-enabled test suite.
test: tools
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...
	@# The in-process compare that must reach PASS skips under -race (the
	@# race detector saturates the generator at the rates a decision needs).
	$(GO) test -count=1 -timeout 5m -run '^TestCompareInProcessPass$$' .
	@# The seeded simulations pin the gate's rates at their full trial counts
	@# here; under -race they run short ones (internal/gate fewTrials).
	$(GO) test -count=1 -timeout 10m -run 'Simulated|AtTheLimit|DesignMatchesSimulation' ./internal/gate
	cd examples/gate && $(GO) vet ./... && $(GO) test ./...

# The inner loop while editing: the long end-to-end tests skip under -short.
test-short: tools
	$(GO) vet ./...
	$(GO) test -short -timeout 5m ./...
	cd examples/gate && $(GO) test -short ./...

# Microbenchmarks of the two factories, and BenchmarkChat: every built-in
# build end to end over loopback HTTP and WebSocket at CHAT_RATE chats/s.
# Both verdicts are printed, not enforced: building a factory per request
# allocates more per Acquire by design, so B/op fails a 5% budget.
CHAT_RATE  ?= 400
CHAT_FLAGS ?= -benchtime 2000x -count 6
bench: build
	@mkdir -p $(RUNS)/bench
	$(GO) test -run '^$$' -bench . -benchmem -count=10 ./baseline/ | tee $(RUNS)/bench/baseline.txt
	$(GO) test -run '^$$' -bench . -benchmem -count=10 ./perrequest/ | tee $(RUNS)/bench/perrequest.txt
	$(GO) test -run '^$$' -bench '^BenchmarkChat$$' $(CHAT_FLAGS) -chat.rate $(CHAT_RATE) . | tee $(RUNS)/bench/chat.txt
	@echo "== microbenchmarks: perrequest against baseline"
	-$(BIN) benchcmp $(RUNS)/bench/baseline.txt $(RUNS)/bench/perrequest.txt
	@echo "== end to end (BenchmarkChat): perrequest against baseline"
	-$(BIN) benchcmp --col build=baseline,perrequest $(RUNS)/bench/chat.txt

# Generator speed against vegeta and a bare WebSocket client, and a 10k-user
# hold; writes docs/performance.md (a few minutes; see internal/perf/run.sh).
perf:
	GO=$(GO) ./internal/perf/run.sh

clean:
	rm -rf bin
