#!/usr/bin/env bash
# One command from a clean clone: install what the tests need (virtualenv, requirements-dev.txt,
# Debian's chromium) and run the whole suite. Arguments are passed to pytest.
# Embedded (SQLite + in-memory layer) by default; set DATABASE_URL and REDIS_URL to run the same
# suite on PostgreSQL + Redis, including tests/test_scaled.py (two Daphne processes).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh

orchweb_ensure_venv requirements-dev.txt
orchweb_build_engine

if [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium for the browser tests"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q && apt-get install -y -q chromium
    else
        sudo apt-get update -q && sudo apt-get install -y -q chromium
    fi
fi

# Tests run with the project's static settings; with DEBUG=0 they need the collected files.
.venv/bin/python manage.py collectstatic --noinput -v0

# Two workers (the CI machine has two cores) took the suite from ~95 s to ~64 s. Browser tests stay
# on one worker (xdist_group "e2e", see tests/e2e/conftest.py). ORCHWEB_TEST_WORKERS=0 disables it.
status=0
.venv/bin/python -m pytest -n "${ORCHWEB_TEST_WORKERS:-auto}" --dist loadgroup "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "test.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit "$status"
