#!/usr/bin/env bash
# One command from a clean clone: virtualenv, dependencies, database, demo user and content,
# static files, then Daphne (HTTP + websockets) on http://127.0.0.1:8000. Safe to run again.
# HOST and PORT override the address; DATABASE_URL, REDIS_URL etc. switch to scaled mode (README),
# where PROCESSES=N serves the port with N Daphne processes (orchweb/serve.py).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh

orchweb_ensure_venv requirements.txt
orchweb_build_engine
.venv/bin/python manage.py migrate --noinput
# The demo user is created only when missing (a changed password is kept); with DEBUG off, seed
# refuses to create a user with a published password, so run.sh skips it (README).
case "$(printf '%s' "${DEBUG:-1}" | tr '[:upper:]' '[:lower:]')" in
0 | false | no | off) echo "run.sh: DEBUG is off: not seeding the demo user (manage.py createsuperuser)" ;;
*)
    .venv/bin/python manage.py seed
    # Versions the server has not laid out (a database from before server layouts or migration
    # 0006, or made with them off): their first opens draw at once instead of running ELK in the
    # browser. At most 20 a start (~0.1-3 s each), the latest of each project; nothing once done.
    .venv/bin/python manage.py lay_out_versions --limit 20
    ;;
esac
# Needed when DEBUG=0 (WhiteNoise serves the collected, compressed files); cheap otherwise.
.venv/bin/python manage.py collectstatic --noinput -v0

host=${HOST:-127.0.0.1}
port=${PORT:-8000}
echo "orchweb: http://$host:$port/  (log in as demo / demo-orchweb unless you changed it; Ctrl-C stops)"
exec .venv/bin/python -m orchweb.serve -b "$host" -p "$port" --processes "${PROCESSES:-1}"
