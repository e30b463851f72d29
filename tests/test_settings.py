"""Settings come from the environment: embedded defaults, scaled values, and clear failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from orchweb.env import database_from_url, env_bool, env_int, env_rate, local_secret_key, redis_url

ROOT = Path(__file__).resolve().parent.parent
CONFIG_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CONN_MAX_AGE",
    "ORCHWEB_DB_POOL_SIZE",
    "ORCHWEB_RATE_REQUESTS",
    "ORCHWEB_RATE_WORK",
    "ORCHWEB_RATE_LOGIN",
)

# Prints the settings a fresh process computes from its environment.
DUMP_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST"), "port": db.get("PORT"),
    "user": db.get("USER"), "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "debug": settings.DEBUG, "secret_key": settings.SECRET_KEY, "allowed_hosts": settings.ALLOWED_HOSTS,
    "login_redirect": settings.LOGIN_REDIRECT_URL,
    "cache": settings.CACHES["default"]["BACKEND"], "cache_location": settings.CACHES["default"].get("LOCATION"),
    "rates": settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
}))
"""


def run_python(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run the project's Python in a fresh process with only `env` as configuration."""
    clean = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    clean["DJANGO_SETTINGS_MODULE"] = "orchweb.settings"
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def settings_in_fresh_process(**env: str) -> dict:
    result = run_python(["-c", DUMP_SETTINGS], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_no_configuration_it_runs_embedded() -> None:
    settings = settings_in_fresh_process()

    assert settings["engine"] == "django.db.backends.sqlite3"
    assert settings["name"] == str(ROOT / "db.sqlite3")
    assert settings["layer"] == "channels.layers.InMemoryChannelLayer"
    assert settings["debug"] is True
    assert settings["login_redirect"] == "/projects/"
    assert settings["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert settings["rates"] == {"requests": "600/minute", "work": "60/minute", "login": "20/minute"}


def test_the_generated_secret_key_is_kept_between_processes() -> None:
    first = settings_in_fresh_process()["secret_key"]
    second = settings_in_fresh_process()["secret_key"]

    assert len(first) >= 50
    assert first == second == (ROOT / ".secret_key").read_text().strip()


def test_scaled_configuration_uses_postgresql_redis_and_the_given_hosts() -> None:
    settings = settings_in_fresh_process(
        DATABASE_URL="postgres://orch:s3cret@db.example:6543/orchweb",
        REDIS_URL="redis://cache.example:6380/2",
        DEBUG="0",
        SECRET_KEY="k" * 60,
        ALLOWED_HOSTS="orchweb.example, www.orchweb.example",
    )

    assert settings["engine"] == "django.db.backends.postgresql"
    assert (settings["name"], settings["host"], settings["port"], settings["user"]) == (
        "orchweb",
        "db.example",
        "6543",
        "orch",
    )
    assert settings["layer"] == "channels_redis.core.RedisChannelLayer"
    [host] = settings["layer_hosts"]
    assert host["address"] == "redis://cache.example:6380/2"
    # No socket timeout (with one, every write goes through asyncio.wait_for, which loses
    # cancellations on Python 3.11: tests/test_channel_layer.py); TCP keepalive tells a dead Redis.
    assert host["socket_timeout"] is None and host["socket_keepalive"] is True
    assert host["socket_keepalive_options"] and host["socket_connect_timeout"] > 0
    assert settings["debug"] is False
    assert settings["secret_key"] == "k" * 60
    assert settings["allowed_hosts"] == ["orchweb.example", "www.orchweb.example"]
    # Request-rate windows and login counters: one Redis for every process.
    assert (settings["cache"], settings["cache_location"]) == (
        "django.core.cache.backends.redis.RedisCache",
        "redis://cache.example:6380/2",
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://db.example:notaport/x"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"CONN_MAX_AGE": "forever"}, "CONN_MAX_AGE"),
        ({"ORCHWEB_RATE_WORK": "60 per minute"}, "ORCHWEB_RATE_WORK"),
    ],
)
def test_manage_check_fails_fast_naming_the_bad_variable(env: dict[str, str], variable: str) -> None:
    result = run_python(["manage.py", "check"], **env)

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert variable in last_line


def test_postgresql_connections_come_from_a_pool_unless_kept_per_thread() -> None:
    url = "postgres://u@h:5432/d"
    assert database_from_url("DATABASE_URL", url, pool_size=10)["OPTIONS"]["pool"]["max_size"] == 10
    assert database_from_url("DATABASE_URL", url, conn_max_age=60)["OPTIONS"] == {}
    with pytest.raises(ImproperlyConfigured, match="ORCHWEB_DB_POOL_SIZE=0"):
        database_from_url("DATABASE_URL", url, conn_max_age=60, pool_size=10)


def test_several_processes_on_one_port_are_refused_without_a_shared_layer() -> None:
    result = run_python(["-m", "orchweb.serve", "--processes", "2"])

    assert result.returncode != 0
    assert "several processes need REDIS_URL" in result.stderr


def test_database_urls_are_translated() -> None:
    postgres = database_from_url("DATABASE_URL", "postgresql://u:p%40ss@h:5432/d%20b")
    assert (postgres["USER"], postgres["PASSWORD"], postgres["HOST"], postgres["PORT"], postgres["NAME"]) == (
        "u",
        "p@ss",
        "h",
        "5432",
        "d b",
    )
    assert database_from_url("X", "sqlite:///relative.sqlite3")["NAME"] == "relative.sqlite3"
    assert database_from_url("X", "sqlite:////tmp/absolute.sqlite3")["NAME"] == "/tmp/absolute.sqlite3"


@pytest.mark.parametrize(
    "url", ["postgres://h:5432/", "postgres:///db", "mysql://h/db", "sqlite://", "sqlite://host/x", ""]
)
def test_it_rejects_database_urls_it_cannot_use(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url("DATABASE_URL", url)


@pytest.mark.parametrize("url", ["http://h:6379", "redis://", "redis://h:port", "redis://h:6379/zero"])
def test_it_rejects_redis_urls_it_cannot_use(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        redis_url("REDIS_URL", url)


def test_booleans_and_integers_are_parsed_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", "Off")
    monkeypatch.setenv("NUMBER", "3")
    assert env_bool("FLAG", True) is False
    assert env_int("NUMBER", 0, minimum=1) == 3
    monkeypatch.setenv("NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="NUMBER='0' must be at least 1"):
        env_int("NUMBER", 5, minimum=1)


def test_request_rates_are_read_as_drf_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_rate("RATE", "60/minute") == "60/minute"
    monkeypatch.setenv("RATE", " 5/second ")
    assert env_rate("RATE", "60/minute") == "5/second"
    for wrong in ("0/minute", "5/fortnight", "5", "-1/day", "five/minute"):
        monkeypatch.setenv("RATE", wrong)
        with pytest.raises(ImproperlyConfigured, match="RATE="):
            env_rate("RATE", "60/minute")


def test_a_missing_secret_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / ".secret_key"

    key = local_secret_key(path)

    assert local_secret_key(path) == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [path]


def test_the_embedded_database_writes_ahead_and_syncs_every_commit(tmp_path: Path) -> None:
    # WAL, with each commit synced (FULL), as the rollback journal before it was: a committed
    # step survives a power loss. While connections are open the log lives beside the file (why
    # README says to back up with sqlite3's .backup, not a copy); the file records the mode.
    database = tmp_path / "embedded.sqlite3"
    script = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('CREATE TABLE t (x INTEGER)')\n"
        "    cursor.execute('INSERT INTO t VALUES (1)')\n"
        "    cursor.execute('PRAGMA journal_mode'); mode = cursor.fetchone()[0]\n"
        "    cursor.execute('PRAGMA synchronous'); sync = cursor.fetchone()[0]\n"
        "print(mode, sync)\n"
    )
    result = run_python(["-c", script], DATABASE_URL=f"sqlite:///{database}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "2"]  # 2: FULL
    assert database.read_bytes()[18:20] == b"\x02\x02"  # the header's read/write versions: WAL
