# compat-reg: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pytest-xdist over the machine's cores; --dist loadfile keeps a module's tests (and its shared
# module-scoped graphs) in one worker; modules go out longest first (tests/_schedule.py), not
# most-tests first. `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Quieter TensorFlow logs; CPU only.
export TF_CPP_MIN_LOG_LEVEL ?= 2
export CUDA_VISIBLE_DEVICES ?=
# Bytecode is cached as Python does by default (__pycache__/, git-ignored): every pytest worker and
# child process would otherwise recompile the checkout and re-rewrite the test modules' asserts.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup demo test test-keras3 test-tf-keras test-jax test-matrix test-matrix-oldest wheel bench bench-suite clean

setup: $(STAMP)

# Ranges from requirements*.txt, exact versions from constraints.txt (the newest tested stack);
# compat-reg itself editable. Builds write nothing into the tree (setup.py).
$(STAMP): pyproject.toml setup.py requirements.txt requirements-test.txt requirements-backends.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt -r requirements-test.txt -r requirements-backends.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m compat_reg demo

# The whole suite under Keras 3, then every Keras-facing test (marker `keras`)
# again under tf_keras (TF_USE_LEGACY_KERAS=1), then the backend tests (marker
# `backend`) with Keras 3 on JAX (they also start torch and TensorFlow children).
test: test-keras3 test-tf-keras test-jax

test-keras3: $(STAMP)
	$(PYTEST) tests

test-tf-keras: $(STAMP)
	TF_USE_LEGACY_KERAS=1 $(PYTEST) -m keras tests

test-jax: $(STAMP)
	KERAS_BACKEND=jax $(PYTEST) -m backend tests/backends

# The suite on every supported stack (one venv each, .ci/matrix.py), both flavors, one table.
# Venvs live in $(COMPAT_REG_VENVS) (default ~/.cache/compat-reg/venvs) and are reused.
test-matrix:
	$(PYTHON) .ci/matrix.py

test-matrix-oldest:
	$(PYTHON) .ci/matrix.py $$($(PYTHON) .ci/matrix.py --list | cut -d' ' -f1)

# The wheel, built from a clean clone of HEAD (prints its path; nothing written to the tree).
wheel:
	PYTHON=$(PYTHON) .ci/build-wheel

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

# make test of this tree against make test of round 1's last commit, in one run (~15 min; idle machine).
bench-suite: $(STAMP)
	$(PY) -m benchmarks.bench_suite --same-files

clean:
	rm -rf $(VENV) reports
