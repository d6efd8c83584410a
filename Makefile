# Two commands on a fresh machine with only Python 3.11+:
#   make run   – virtualenv, install, migrate, demo data, web + Celery worker/beat on :8000
#   make test  – virtualenv, install, the whole test suite
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# make run uses the zero-service defaults: SQLite, the filesystem broker, plain HTTP on loopback.
DEV_ENV := DEBUG=1 SECURE_SSL_REDIRECT=0

.PHONY: install run test lint bench loadtest fuzz clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py seed_demo
	@echo "Serving on http://127.0.0.1:8000 with a Celery worker and beat (Ctrl-C stops both)"
	$(DEV_ENV) bash -c 'trap "kill 0" EXIT; \
		$(VENV)/bin/celery -A config worker -B --loglevel INFO --concurrency 1 & \
		$(PY) manage.py runserver 127.0.0.1:8000'

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# ruff, then the import layers (contracts in pyproject.toml, docs/architecture.md).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# Production scale by default (1M testers, 100 x 10k journal rows; docs/performance.md):
# BENCH_DATABASE_URL names a PostgreSQL database the bench creates and drops;
# BENCH_SCALE=small is the one-minute run CI makes. Writes bench/results.json and bench/plans/.
bench: install
	$(PY) -m tests.bench.run

# Load and faults through gunicorn on loopback, against a PostgreSQL, Redis and Celery worker of
# its own (needs the PostgreSQL server binaries and redis-server; minutes long, not in CI). The
# table is in docs/reliability.md; LOADTEST_SECONDS per phase (15), LOADTEST_SWEEP_LABELS (300k).
loadtest: install
	$(PY) -m tests.loadtest.run

# A longer, random schemathesis hunt than the derandomized one in `make test` (FUZZ_EXAMPLES
# per operation, FUZZ_STATEFUL_EXAMPLES state-machine runs, a fresh seed each time).
fuzz: install
	FUZZ_RANDOM=1 FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} FUZZ_STATEFUL_EXAMPLES=$${FUZZ_STATEFUL_EXAMPLES:-200} \
		$(VENV)/bin/pytest tests/api/test_fuzz_api.py -p no:cacheprovider

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles
