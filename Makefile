# smeval: the two set-up commands of the README.
#
#   make demo   set up .venv, generate the sample archive (once), CMORize its
#               reanalyses (once), check the recipe and archive (smeval check),
#               run recipe_soilmoisture.yml, print the report path
#   make test   set up .venv, lint the recipes (yamllint, ESMValTool's rules in
#               .yamllint) and the Python code (ruff, ESMValTool's rules in
#               pyproject.toml) and run the whole test suite
#
# Both find a Python >= 3.12 themselves (PATH or pyenv) and reuse what exists.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV     ?= .venv
# A second environment with ESMValTool's `esmvaltool` package beside smeval,
# as ESMValTool users have it (tests/e2e/test_beside_esmvaltool.py uses it).
VENV_ESMVALTOOL ?= .venv-esmvaltool
ESMVALTOOL_VERSION ?= 2.15.0
PY       := $(VENV)/bin/python
SAMPLE   ?= sample_data
OUTPUT   ?= esmvaltool_output
RECIPE   ?= recipe_soilmoisture.yml
# Options for `smeval sample-data` (see `smeval sample-data --help`).
SAMPLE_OPTS ?=
# Options for pytest, e.g. make test PYTEST_OPTS="-k taylor".
PYTEST_OPTS ?=
CONFIG_DIR := build/esmvaltool-config
REFERENCES := ERA5 ERA-Interim GLDAS

.PHONY: demo test lint-recipes lint-python venv venv-esmvaltool sample clean-sample help

help:
	@echo "make demo   run recipe_soilmoisture.yml on the embedded sample archive"
	@echo "make test   lint the recipes and the Python code and run the test suite"
	@echo "make venv-esmvaltool   a second environment with esmvaltool $(ESMVALTOOL_VERSION) beside smeval"

venv:
	@scripts/bootstrap.sh $(VENV)

venv-esmvaltool:
	@SMEVAL_WITH_ESMVALTOOL=$(ESMVALTOOL_VERSION) scripts/bootstrap.sh $(VENV_ESMVALTOOL)

# The archive is generated once (reanalyses in their distributors' formats),
# then CMORized by smeval's converters; the stamp marks a complete archive.
$(SAMPLE)/.smeval-complete:
	@$(MAKE) --no-print-directory venv
	$(VENV)/bin/smeval sample-data --out $(SAMPLE) --reanalyses raw $(SAMPLE_OPTS)
	@for ref in $(REFERENCES); do \
	    $(VENV)/bin/smeval cmorize $$ref --raw $(SAMPLE)/raw/$$ref --out $(SAMPLE)/OBS6; \
	done
	@date -u +%FT%TZ > $@

sample: $(SAMPLE)/.smeval-complete

$(CONFIG_DIR)/config-user.yml: config-user.yml
	@mkdir -p $(CONFIG_DIR)
	@cp config-user.yml $@

demo: venv sample $(CONFIG_DIR)/config-user.yml
	$(VENV)/bin/smeval check $(CONFIG_DIR) $(RECIPE)
	$(VENV)/bin/esmvaltool run --config_dir=$(CONFIG_DIR) $(RECIPE)
	@$(PY) -m smeval.report.locate $(OUTPUT) $(RECIPE)

# Recipes linted as ESMValTool lints its own: any finding fails `make test`.
YAMLLINT_FILES := recipes/ $(wildcard benchmarks/*.yml)

lint-recipes: venv
	$(PY) -m yamllint --strict -c .yamllint $(YAMLLINT_FILES)

# Python code linted and formatted as ESMValTool's: any finding of either
# fails `make test` ([tool.ruff] in pyproject.toml; `ruff format .` and
# `ruff check --fix .` repair most of them).
lint-python: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv lint-recipes lint-python
	$(PY) -m pytest $(PYTEST_OPTS)

clean-sample:
	rm -rf $(SAMPLE)
