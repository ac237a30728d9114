# make relation_extraction | event_extraction | reading_comprehension  (train, score dev, predict, validate)
# make test | test-fast | clean                                         (the test suite; clean keeps trained models)
# make bench | bench-recompute | bench-learning [REAL_DIR=...]          (benchmarks)
# Variables: DATA_DIR, BERT_DIR (default: sample data and a tiny BERT), OUT, EPOCHS, BATCH_SIZE, MAXLEN,
#            LEARNING_RATE, RECOMPUTE=1, PRECISION, STRATEGY, TRAIN_ARGS (more train.py arguments),
#            SEEDS=N (N seeds, one submission from their ensemble), FOLDS=K (k-fold, tools.kfold), VOTES=V
#            (with FOLDS, relation extraction: the fold models vote);
#            TEST_WORKERS (processes for make test, default 2)
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

# every value is quoted, so paths may hold spaces
PIPELINE_ARGS = $(if $(DATA_DIR),--data-dir "$(DATA_DIR)") $(if $(BERT_DIR),--bert-dir "$(BERT_DIR)") \
	$(if $(OUT),--out "$(OUT)") $(if $(EPOCHS),--epochs "$(EPOCHS)") $(if $(BATCH_SIZE),--batch-size "$(BATCH_SIZE)") \
	$(if $(MAXLEN),--maxlen "$(MAXLEN)") $(if $(LEARNING_RATE),--learning-rate "$(LEARNING_RATE)") \
	$(if $(RECOMPUTE),--recompute) $(if $(PRECISION),--precision "$(PRECISION)") \
	$(if $(STRATEGY),--strategy "$(STRATEGY)") $(if $(TRAIN_ARGS),--train-args="$(TRAIN_ARGS)") \
	$(if $(SEEDS),--seeds "$(SEEDS)") $(if $(FOLDS),--folds "$(FOLDS)") $(if $(VOTES),--votes "$(VOTES)")

.PHONY: install test test-fast relation_extraction event_extraction reading_comprehension all bench bench-recompute \
	bench-learning clean

install: $(STAMP)

# TensorFlow with its CUDA libraries where nvidia-smi finds a GPU; bert4keras without its
# dependencies, since its metadata pins keras<=2.3.1 (it runs on tf_keras, see common/env.py).
$(STAMP): requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	if nvidia-smi > /dev/null 2>&1; then $(VENV)/bin/pip install --quiet "tensorflow[and-cuda]==2.21.*"; fi
	$(VENV)/bin/pip install --quiet -r requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps bert4keras==0.11.5
	touch $@

$(TEST_STAMP): $(STAMP) requirements-test.txt
	$(VENV)/bin/pip install --quiet -r requirements-test.txt
	touch $@

# the tests on TEST_WORKERS processes (pytest-xdist), a test file to each: a file's trained model is built once;
# files in tests/conftest.py's order (xdist would reorder them by their count of tests)
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
test: $(TEST_STAMP)
	$(PYTHON) -m pytest -q $(XDIST) tests

# the edit loop: every test that trains no model (under 3 minutes on 2 cores)
test-fast: $(TEST_STAMP)
	$(PYTHON) -m pytest -q $(XDIST) -m "not trains" tests

relation_extraction event_extraction reading_comprehension: install
	$(PYTHON) -m pipeline $@ $(PIPELINE_ARGS)

all: relation_extraction event_extraction reading_comprehension

# side-by-side benchmarks: outputs/bench/bench.json, precision.json, heads.json, recompute.json,
# learning.json (+ learning.png); bench-learning takes hours on 2 CPU cores
bench: install
	$(PYTHON) -m benchmarks speed
	$(PYTHON) -m benchmarks precision
	$(PYTHON) -m benchmarks heads

bench-recompute: install
	$(PYTHON) -m benchmarks recompute

# REAL_DIR: real LIC data in the official layout (python -m benchmarks learning --help), measured too
bench-learning: install
	$(PYTHON) -m benchmarks learning $(if $(REAL_DIR),--sets yardstick hard real --real-dir "$(REAL_DIR)")

# what is made again on demand; trained models and benchmark results under outputs/ are kept (hours of work)
clean:
	rm -rf outputs/sample_data outputs/tiny_bert .pytest_cache
	@if [ -d outputs ] && [ -n "$$(ls -A outputs)" ]; then \
		echo "kept in outputs/ (delete by hand): $$(ls -A outputs | tr '\n' ' ')"; fi
