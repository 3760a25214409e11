# The two commands of the README:
#   make run   installs what is missing, builds, runs the main job on the embedded SQLite store (demo registry,
#              population) and serves the HTTP API on 127.0.0.1:8080 (LISTEN=HOST:PORT to change) until Ctrl-C
#   make test  installs what is missing, builds (Release with tests and benchmarks; clang ASan/UBSan with the
#              fuzz targets), runs the whole test suite under both, runs every fuzz target for 60 s, and prints
#              the time of each phase (scripts/test.sh)
#
# Other targets: make build, make asan, make bench, make fuzz, make install PREFIX=..., make clean.

BUILD      ?= build
SAN_BUILD  ?= build-san
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DB         ?= sqlite:data/inferconf.db
LISTEN     ?= 127.0.0.1:8080
CMAKE_ARGS ?=
# Test folders (CTest labels) that run under ASan + UBSan in `make test`; empty: every suite.
SAN_LABELS ?=

.PHONY: run test build asan deps deps-test deps-bench test-unit test-asan fuzz bench install clean

deps:
	@bash scripts/install-deps.sh build

deps-test:
	@bash scripts/install-deps.sh test

deps-bench:
	@bash scripts/install-deps.sh bench

# One Release build serves `make run`, the normal test pass and `make bench`: what is tested is what ships and
# what is measured, and a warning that only -O3 shows fails the build that everyone runs.
$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DINFERCONF_BENCH=ON $(CMAKE_ARGS)

# clang with ASan + UBSan and libFuzzer's coverage: the sanitizer test pass and the fuzz targets share objects.
$(SAN_BUILD)/build.ninja:
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DINFERCONF_SANITIZE=ON -DINFERCONF_FUZZ=ON -DINFERCONF_BENCH=OFF $(CMAKE_ARGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

asan: deps-test $(SAN_BUILD)/build.ninja
	cmake --build $(SAN_BUILD) -j $(JOBS)

# The main job: the store is initialised, the demo's checkpoint files are laid out next to it (real headers
# over sparse holes: a few kilobytes on disk) and the demo registry imported (with each model's resolved presets
# printed), `populate` reads each checkpoint's header to decide its base model and creates every active model's
# quality and speed configurations from the catalogue (the seed's population report, with the evidence), then
# `serve` answers the HTTP API on $(LISTEN) until Ctrl-C.
run: build
	./$(BUILD)/inferconf --db $(DB) demo
	./$(BUILD)/inferconf --db $(DB) populate
	./$(BUILD)/inferconf --db $(DB) serve --listen $(LISTEN)

# Phases and their times: scripts/test.sh.
test: deps-test
	@BUILD=$(BUILD) SAN_BUILD=$(SAN_BUILD) JOBS=$(JOBS) SAN_LABELS='$(SAN_LABELS)' CMAKE_ARGS='$(CMAKE_ARGS)' \
	  bash scripts/test.sh

# Every libFuzzer target for FUZZ_SECONDS (default 60) on its seed corpus; see scripts/run-fuzzers.sh.
fuzz: asan
	FUZZ_BUILD_DIR=$(CURDIR)/$(SAN_BUILD) FUZZ_CONFIGURED=1 FUZZ_PARALLEL=2 bash scripts/run-fuzzers.sh

# The benchmarks are part of the Release build; this adds the tools bench/http.sh drives (wrk, nginx).
bench: deps-bench build

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) build-fuzz
