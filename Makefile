# compat-reg: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST := $(PY) -m pytest -q -p no:cacheprovider

# Quieter TensorFlow logs; CPU only.
export TF_CPP_MIN_LOG_LEVEL ?= 2
export CUDA_VISIBLE_DEVICES ?=
export PYTHONDONTWRITEBYTECODE = 1

.PHONY: setup demo test test-keras3 test-tf-keras bench clean

setup: $(STAMP)

$(STAMP): setup.py requirements.txt requirements-test.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt -r requirements-test.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m migration.cli demo

# The whole suite under Keras 3, then every Keras-facing test (marker `keras`)
# again under tf_keras (TF_USE_LEGACY_KERAS=1).
test: test-keras3 test-tf-keras

test-keras3: $(STAMP)
	$(PYTEST) tests

test-tf-keras: $(STAMP)
	TF_USE_LEGACY_KERAS=1 $(PYTEST) -m keras tests

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) build *.egg-info reports
