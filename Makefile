# Both targets build .venv on first use and refresh it whenever setup.cfg
# changes, or the C walk of protocol/record_walk.py (built in place by the
# editable install); the stamp files record what was installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

KAFKA_PORT ?= 9092
# Apache Kafka, the reference (compat/reference/): fetched by Maven into build/.
KAFKA := $(BIN)/python -m compat.reference.apache_kafka

.PHONY: serve test unit compat differential lint bench clean kafka-fetch kafka test-kafka

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

INSTALL_INPUTS := setup.cfg setup.py pyproject.toml protocol/_recordwalk.c

$(VENV)/.installed: $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

# 127.0.0.1:9092 with data in ./data unless KGW_HOST, KGW_PORT, KGW_DATA_DIR
# or any other KGW_* variable says otherwise.
serve: $(VENV)/.installed
	$(BIN)/kgw serve

# tests/: unit, property and in-process server tests; compat/: real clients
# against a live kgw; differential: kgw's answers against Apache Kafka's.
test: unit compat differential

unit: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests

compat: $(VENV)/.installed-test
	$(BIN)/python -m pytest compat

# The same requests to kgw and to Apache Kafka, answers compared field by
# field (compat/differential/README.md).
differential: $(VENV)/.installed-test kafka-fetch
	$(BIN)/python -m compat.differential

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kgw protocol tests compat bench
	$(BIN)/mypy

kafka-fetch: $(VENV)/.installed
	$(KAFKA) fetch

kafka: $(VENV)/.installed
	$(KAFKA) serve --port $(KAFKA_PORT)

# compat/ against Apache Kafka; tests marked kgw_only are skipped.
test-kafka: $(VENV)/.installed-test kafka-fetch
	KGW_BROKER=kafka $(BIN)/python -m pytest compat

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.protocol_codec
	$(BIN)/python bench/records_crc.py

clean:
	rm -rf $(VENV) build *.egg-info protocol/_recordwalk.*.so
