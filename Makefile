# loadbench: see README.md. Every target works on a fresh machine with Go alone.
GO      ?= go
BIN     := bin/loadbench
RUNS    ?= runs

.PHONY: build run test vet bench perf clean

build:
	$(GO) build -o $(BIN) ./cmd/loadbench

# The main job: a full compare of the built-in targets (legacy vs per-request).
run: build
	./$(BIN) compare

# What CI runs: vet, formatting, and the race-enabled test suite.
test:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) test -race -timeout 20m ./...
	cd examples/gate && $(GO) vet ./... && $(GO) test ./...

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
	-./$(BIN) benchcmp $(RUNS)/bench/baseline.txt $(RUNS)/bench/perrequest.txt
	@echo "== end to end (BenchmarkChat): perrequest against baseline"
	-./$(BIN) benchcmp --col build=baseline,perrequest $(RUNS)/bench/chat.txt

# Generator speed against vegeta and a bare WebSocket client, and a 10k-user
# hold; writes docs/performance.md (a few minutes; see internal/perf/run.sh).
perf:
	GO=$(GO) ./internal/perf/run.sh

clean:
	rm -rf bin
