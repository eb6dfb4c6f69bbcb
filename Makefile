# Minsheng (民声). The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
PY := .venv/bin/python
RASA := .venv-rasa/bin/rasa
PYTEST_ARGS ?=

.PHONY: run test install train lint validate rasa-test test-rasa test-py eval models bench screenshots clean demo-data

run:                ## development mode (MINSHENG_ENV=development): API :8000, Rasa :5005, actions :5055 on 127.0.0.1
	@bash scripts/run.sh

install:            ## Debian packages and both Python environments
	@bash scripts/bootstrap.sh

train: install      ## (re)train the Rasa model when its inputs changed
	@bash scripts/train.sh

test: train lint validate rasa-test test-rasa test-py   ## everything CI runs

lint: install
	.venv/bin/ruff check .

validate: install
	$(RASA) data validate --quiet

rasa-test: train    ## Rasa conversation tests (tests/test_stories.yml)
	$(RASA) test core --stories tests/test_stories.yml --model models/current.tar.gz \
	  --out var/rasa-test --fail-on-prediction-errors --quiet

test-rasa: install  ## unit tests of bot/ and actions/ in the Rasa environment
	.venv-rasa/bin/python -m pytest -q tests/rasa $(PYTEST_ARGS)

# The real-time calls (SIP, RTP, Vosk) mostly wait on audio clocks, so they run beside the rest.
test-py: train      ## API, telephony, end-to-end and browser tests (two pytest processes side by side)
	@mkdir -p var; $(PY) -m pytest -q tests --ignore=tests/rasa -m "voice or callback" $(PYTEST_ARGS) > var/test-calls.log 2>&1 & calls=$$!; \
	$(PY) -m pytest -q tests --ignore=tests/rasa -m "not (voice or callback)" $(PYTEST_ARGS); rest=$$?; \
	wait $$calls; calls_rc=$$?; echo "== calls (voice, callback) tests"; cat var/test-calls.log; \
	[ $$rest -eq 0 ] && [ $$calls_rc -eq 0 ]

eval: train         ## NLU cross-validation + held-apart set + conversation tests → bench/results/
	@bash scripts/eval.sh

models: install     ## download the Vosk Chinese model (MODEL=large for vosk-model-cn-0.22)
	@bash scripts/models.sh

# issue-16: benchmarks run the API in-process with development secrets, so they say so explicitly.
bench: export MINSHENG_ENV ?= development
bench: train        ## benchmarks that print JSON (results in bench/results/)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

screenshots: train  ## refresh the page screenshots in docs/ (tests save them under var/screenshots otherwise)
	MINSHENG_SCREENSHOTS=docs $(PY) -m pytest -q tests/e2e/test_chat_page.py tests/e2e/test_console.py tests/callbacks/test_page.py
	MINSHENG_SCREENSHOTS=docs $(PY) -m pytest -q tests/e2e/test_office_pages.py

# issue 14: real TipDM board messages as online-channel tickets with their real timestamps
demo-data: install  ## import datasets/tipdm2020 into the database (make run, then open /analytics)
	$(PY) scripts/demo_data.py

clean:
	rm -rf var/rasa-test .pytest_cache .ruff_cache
