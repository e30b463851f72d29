#!/usr/bin/env bash
# One command from a clean clone: virtualenv, dependencies, database, demo user and content,
# static files, then Daphne (HTTP + websockets) on http://127.0.0.1:8000. Safe to run again.
# HOST and PORT override the address; DATABASE_URL, REDIS_URL etc. switch to scaled mode (README).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh

orchweb_ensure_venv requirements.txt
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed
# Needed when DEBUG=0 (WhiteNoise serves the collected, compressed files); cheap otherwise.
.venv/bin/python manage.py collectstatic --noinput -v0

host=${HOST:-127.0.0.1}
port=${PORT:-8000}
echo "orchweb: http://$host:$port/  (log in as demo / demo-orchweb; Ctrl-C stops)"
exec .venv/bin/daphne -b "$host" -p "$port" orchweb.asgi:application
