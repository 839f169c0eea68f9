# dstd — convenience targets around CMake/CTest. See README.md.
#   make deps      install the Debian packages the build needs (as root)
#   make build     configure (once) and build into build/
#   make test      run the test suite      (extra ctest flags: CTEST_ARGS='-L unit -j2')
#   make demo      the kvstore port: plain std beside dstd on 4 local nodes
#   make bench     ports std vs dstd (1/2/4 nodes) and micro-benchmarks: bench/results/<date>.{json,md,png}
#   make sanitize  build-asan/ with address,undefined, and run its tests
#   make tsan      build-tsan/ with thread, and run its tests

PACKAGES := cmake g++ make pkg-config valgrind libfabric-dev libfabric-bin libmimalloc-dev \
            libboost-dev libgtest-dev libgmock-dev libbenchmark-dev libpmix-dev \
            openmpi-bin libopenmpi-dev rdma-core iproute2 gnuplot-nox procps python3

BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=
CTEST_ARGS ?=
BENCH_ARGS ?=
JOBS       ?= $(shell nproc)
DSTDRUN    := build/bin/dstdrun
DEMO_ARGS  ?= --ops 20000
ASAN       := address,undefined
CTEST      := ctest --output-on-failure --timeout 300 $(CTEST_ARGS)

# $(call configure_and_build,DIR,EXTRA_CMAKE_ARGS): configure DIR once, then build it.
define configure_and_build
	test -f $(1)/CMakeCache.txt || cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(2) $(CMAKE_ARGS)
	cmake --build $(1) -j$(JOBS)
endef

.PHONY: all deps build test demo bench sanitize tsan clean

all: build

deps:
	@missing=""; \
	for p in $(PACKAGES); do \
	  [ "$$(dpkg-query -W -f='$${Status}' $$p 2>/dev/null)" = "install ok installed" ] || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "dstd: missing packages:$$missing" >&2; \
	  echo "sudo apt-get install -y --no-install-recommends$$missing" >&2; \
	  exit 1; \
	fi; \
	echo "dstd: installing$$missing"; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

build: deps
	$(call configure_and_build,build,)

test: build
	cd build && $(CTEST)

demo: build
	ports/demo.sh $(DSTDRUN) build/bin $(DEMO_ARGS)

bench: build
	python3 bench/driver.py $(BENCH_ARGS)

sanitize: deps
	$(call configure_and_build,build-asan,-DDSTD_SANITIZE=$(ASAN))
	cd build-asan && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(CTEST)

tsan: deps
	$(call configure_and_build,build-tsan,-DDSTD_SANITIZE=thread)
	cd build-tsan && TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" $(CTEST)

clean:
	rm -rf build build-asan build-tsan
