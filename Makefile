# gatehouse developer entry points. `make test` is the whole suite and what CI runs (.ci/run).
# Every target that builds first installs missing Debian packages (scripts/setup.sh, as root).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

JOBS ?= 2
# Seconds each fuzz target runs in `make fuzz`.
FUZZ_TIME ?= 60
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
# Seconds of load in the socket stress test of `make tsan` (the release and ASan trees run 10).
TSAN_STRESS_TIME ?= 30
FUZZ_DIR ?= build-fuzz
BENCH_OUT ?= bench/results
CMAKE ?= cmake
CTEST ?= ctest
CLANG_FORMAT ?= clang-format
RUN_CLANG_TIDY ?= run-clang-tidy

# Checked builds (sanitizers, fuzzing) keep assertions and bounds-checked standard containers on,
# at -O1 so that the property tests and fuzz runs stay fast.
CHECKED_FLAGS := -DCMAKE_BUILD_TYPE=Debug '-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g -D_GLIBCXX_ASSERTIONS'
SANITIZER_ENV := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1 \
                 UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
# halt_on_error: the first report fails the process, and with it the test (a server under test
# aborts, and its client sees it die). tests/tsan.supp says what is ignored, and why.
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp
# What `make tsan` builds and runs: the suites that exercise threads (token secrets' per-thread
# HMAC contexts and the IAM service, store commits from several threads, the HTTP handler,
# sockets).
TSAN_TARGETS := iam_tests store_tests server_tests gatehouse
TSAN_CTEST_REGEX := ^(iam_tests|store_tests|server_tests|server_stress_test)$$
CTEST_FLAGS := --output-on-failure --no-tests=error -j $(JOBS)
SOURCES_FIND := find . \( -path './build*' -o -path ./.git \) -prune -o \
                \( -name '*.cpp' -o -name '*.hpp' \) -type f -print0

.PHONY: all setup build test test-fast sanitize tsan fuzz run bench format format-check tidy clean \
        help

all: build

help:
	@echo 'make build         install missing packages, build Release into $(BUILD_DIR)/bin'
	@echo 'make test          the whole suite: release tests, sanitizer builds + tests, fuzz runs'
	@echo 'make test-fast     release build + tests only'
	@echo 'make sanitize      AddressSanitizer + UBSan build in $(ASAN_DIR), run its tests'
	@echo 'make tsan          ThreadSanitizer build in $(TSAN_DIR), run the threaded suites'
	@echo 'make fuzz          libFuzzer build in $(FUZZ_DIR), run each target $(FUZZ_TIME)s'
	@echo 'make run           build, serve ./data on 127.0.0.1:8080, print a console sign-in link'
	@echo 'make bench         build, run the sweep and the token measurements into $(BENCH_OUT), plot'
	@echo 'make format        clang-format -i every .cpp/.hpp; format-check only reports'
	@echo 'make tidy          clang-tidy on the project sources (.clang-tidy)'
	@echo 'make clean         remove the build folders'
	@echo 'Variables: JOBS=$(JOBS) FUZZ_TIME=$(FUZZ_TIME) TSAN_STRESS_TIME=$(TSAN_STRESS_TIME)' \
	  'BENCH_OUT=$(BENCH_OUT)'

setup:
	@bash scripts/setup.sh

build: setup
	$(CMAKE) -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release
	$(CMAKE) --build $(BUILD_DIR) -j $(JOBS)

test-fast: build
	$(CTEST) --test-dir $(BUILD_DIR) $(CTEST_FLAGS)

# One stage after another (not prerequisites), so that even `make -j test` builds one tree at a
# time on a 2-core machine. Each stage's wall time is printed, also when it fails.
stage = start=$$SECONDS; status=0; $(MAKE) $(2) || status=$$?; \
        echo "stage $(1): $$((SECONDS - start)) s"; exit $$status
test:
	@+$(call stage,release,test-fast)
	@+$(call stage,sanitize,sanitize)
	@+$(call stage,tsan,tsan)
	@+$(call stage,fuzz,fuzz)

sanitize: setup
	$(CMAKE) -S . -B $(ASAN_DIR) -G Ninja $(CHECKED_FLAGS) -DGATEHOUSE_SANITIZE=ON \
	  -DGATEHOUSE_BENCH=OFF
	$(CMAKE) --build $(ASAN_DIR) -j $(JOBS)
	$(SANITIZER_ENV) $(CTEST) --test-dir $(ASAN_DIR) $(CTEST_FLAGS)

# Only the suites that run threads: the policy suite and the command-line test have none, and
# ThreadSanitizer slows everything it runs about tenfold.
tsan: setup
	$(CMAKE) -S . -B $(TSAN_DIR) -G Ninja $(CHECKED_FLAGS) -DGATEHOUSE_TSAN=ON \
	  -DGATEHOUSE_BENCH=OFF -DGATEHOUSE_STRESS_SECONDS=$(TSAN_STRESS_TIME)
	$(CMAKE) --build $(TSAN_DIR) -j $(JOBS) --target $(TSAN_TARGETS)
	$(TSAN_ENV) $(CTEST) --test-dir $(TSAN_DIR) $(CTEST_FLAGS) -R '$(TSAN_CTEST_REGEX)'

fuzz: setup
	CC=clang CXX=clang++ $(CMAKE) -S . -B $(FUZZ_DIR) -G Ninja $(CHECKED_FLAGS) \
	  -DGATEHOUSE_FUZZ=ON -DGATEHOUSE_TESTS=OFF -DGATEHOUSE_BENCH=OFF
	$(CMAKE) --build $(FUZZ_DIR) -j $(JOBS) --target gatehouse_fuzzers
	bash fuzz/run.sh $(FUZZ_DIR)/bin $(FUZZ_TIME)

# Serves ./data (initialized on first start) on 127.0.0.1:8080 until Ctrl-C.
run: build
	$(BUILD_DIR)/bin/gatehouse serve --data ./data --console-link owner@example.com

# The built-in sweep and the token measurements (bench/README.md): results into $(BENCH_OUT),
# then the plot.
bench: build
	GATEHOUSE_BIN=$(BUILD_DIR)/bin BENCH_OUT=$(BENCH_OUT) bash bench/run.sh

format:
	$(SOURCES_FIND) | xargs -0 -r $(CLANG_FORMAT) -i

format-check:
	$(SOURCES_FIND) | xargs -0 -r $(CLANG_FORMAT) --dry-run -Werror

tidy: build
	$(RUN_CLANG_TIDY) -quiet -j $(JOBS) -p $(BUILD_DIR) \
	  '^$(CURDIR)/(policy|engine|server|bench|tests)/.*\.cpp$$'

clean:
	rm -rf -- $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR)
