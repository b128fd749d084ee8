# The two entry points of README.md: `make run` (main job on the embedded default) and `make test` (every test).
# Both bootstrap first, so they work on a fresh Debian machine as root.
BUILD      ?= build
ASAN_BUILD ?= build-asan
PYTHON     ?= /usr/bin/python3
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: run test bootstrap build build-asan ctest asan-test pytest notebooks bench clean

# The blind trigger hunt on the default model organism (built on first use, then reused from the cache).
run: build
	./$(BUILD)/apps/moulin hunt --out $(BUILD)/hunt

test: build build-asan
	$(MAKE) --no-print-directory ctest asan-test pytest notebooks

bootstrap:
	./scripts/bootstrap

build: bootstrap
	cmake -S . -B $(BUILD) -G Ninja -DPython3_EXECUTABLE=$(PYTHON) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

# The torch-free parsers, rebuilt with AddressSanitizer and UndefinedBehaviorSanitizer.
build-asan: bootstrap
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DMOULIN_WITH_TORCH=OFF -DMOULIN_SANITIZE=ON -DMOULIN_BUILD_BENCH=OFF \
	  -DCMAKE_BUILD_TYPE=Debug -DPython3_EXECUTABLE=$(PYTHON)
	cmake --build $(ASAN_BUILD) -j $(JOBS)

ctest:
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan-test:
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

pytest:
	MOULIN_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/python

# Every notebook runs headless with Debian's Jupyter; a failing cell fails the target. Executed copies (with their
# outputs) land in $(BUILD)/notebooks.
NOTEBOOKS := $(wildcard notebooks/*.ipynb)
notebooks:
	@mkdir -p $(BUILD)/notebooks
	@for notebook in $(NOTEBOOKS); do \
	  echo "notebook: $$notebook"; \
	  MOULIN_PYTHONPATH=$(abspath $(BUILD))/python $(PYTHON) -m jupyter nbconvert --to notebook --execute \
	    --ExecutePreprocessor.timeout=3600 --ExecutePreprocessor.kernel_name=python3 \
	    --output-dir $(BUILD)/notebooks "$$notebook" || exit 1; \
	done

bench: build
	./$(BUILD)/bench/moulin_bench_model

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
