# The two commands of the README:
#   make run   installs what is missing, builds, runs the main job on the embedded SQLite store (demo registry,
#              population) and serves the HTTP API on 127.0.0.1:8080 (LISTEN=HOST:PORT to change) until Ctrl-C
#   make test  installs what is missing, builds (normal + ASan/UBSan), runs the whole test suite under both,
#              and runs every fuzz target for 60 s (clang + libFuzzer)
#
# Other targets: make build, make asan, make bench, make fuzz, make install PREFIX=..., make clean.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DB         ?= sqlite:data/inferconf.db
LISTEN     ?= 127.0.0.1:8080
CMAKE_ARGS ?=
# Test folders (CTest labels) that also run under ASan + UBSan in `make test`: every suite.
ASAN_LABELS ?= model|catalog|store|mongo|detect|cli|http|interop|populate

.PHONY: run test build asan deps deps-test deps-bench test-unit test-asan fuzz bench install clean

deps:
	@bash scripts/install-deps.sh build

deps-test:
	@bash scripts/install-deps.sh test

deps-bench:
	@bash scripts/install-deps.sh bench

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINFERCONF_BENCH=OFF $(CMAKE_ARGS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DINFERCONF_SANITIZE=ON -DINFERCONF_BENCH=OFF $(CMAKE_ARGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

asan: deps-test $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The main job: the store is initialised, the demo's checkpoint files are laid out next to it (real headers
# over sparse holes: a few kilobytes on disk) and the demo registry imported (with each model's resolved presets
# printed), `populate` reads each checkpoint's header to decide its base model and creates every active model's
# quality and speed configurations from the catalogue (the seed's population report, with the evidence), then
# `serve` answers the HTTP API on $(LISTEN) until Ctrl-C.
run: build
	./$(BUILD)/inferconf --db $(DB) demo
	./$(BUILD)/inferconf --db $(DB) populate
	./$(BUILD)/inferconf --db $(DB) serve --listen $(LISTEN)

test: deps-test
	@$(MAKE) --no-print-directory build asan
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -L '$(ASAN_LABELS)'
	@$(MAKE) --no-print-directory fuzz

# Every libFuzzer target for FUZZ_SECONDS (default 60) on its seed corpus; see scripts/run-fuzzers.sh.
fuzz: deps-test
	bash scripts/run-fuzzers.sh

bench: deps-bench
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DINFERCONF_BENCH=ON -DINFERCONF_TESTS=OFF
	cmake --build build-bench -j $(JOBS)

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-bench build-fuzz
