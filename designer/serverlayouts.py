"""Layouts of new versions computed by the server, so that the first open of a version nobody laid
out draws at once instead of running ELK in the browser (docs/designer.md "Diagram layouts").

A browser reports its character widths for the diagram's fonts once (`clean_font_table`,
`keep_font_table`: POST /api/fonts, designer.models.FontTable; its fingerprint goes back in the
`orchweb_fonts` cookie). When a version is created (import, upload, save: designer.history.
create_version), `schedule` lays its entry document out in the background for the tables of the
project's members seen in the last `RECENT_DAYS` (at most `MAX_TABLES_PER_VERSION`), with
designer/elk.py (the diagram's own ELK-input builder and elkjs in QuickJS), and keeps each
layout under the key the browser checks (designer.models.ServerDiagramLayout). The page serves a
user the layout computed for the fingerprint in their cookie (`server_layout`, through
designer.layouts.layout_store); the browser draws it only when its own ELK input hashes to that
key, else it lays out as before.

Where it runs: with ``ORCHWEB_BATCH_EXECUTOR=celery`` a Celery task (designer/tasks.py) on the
project's broker, at most `PER_USER` pending versions of one author (counted in the shared cache:
the workers are shared with every user's batches); otherwise one thread of this process (QuickJS
releases the GIL while ELK runs), fed by a bounded queue (`LOCAL_QUEUE`, at most `PER_USER`
pending versions of one author). A version beyond that is simply laid out by the first browser
that opens it, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import queue
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from designer.analysis import analysed
from designer.models import FontTable, ServerDiagramLayout, Version

logger = logging.getLogger(__name__)

FONTS_COOKIE = "orchweb_fonts"
#: a table's bounds: fonts, characters a font, a font's name, a width in px
MAX_FONTS = 4
MAX_CHARS = 1024
MAX_FONT_NAME = 200
MAX_WIDTH = 1000.0
#: tables a user keeps (a browser or a font set each), the most recently reported
MAX_TABLES_PER_USER = 3
#: a version is laid out for the tables of its project's members reported within these days,
#: at most this many (the most recently reported)
RECENT_DAYS = 30
MAX_TABLES_PER_VERSION = 8
#: versions waiting for this process's layout thread, in all
LOCAL_QUEUE = 32
#: versions of one author waiting for a layout at once (this process's thread, or the Celery workers)
PER_USER = 4
#: seconds a Celery place is counted at most (a worker lost mid-task gives its place back by then)
PLACE_SECONDS = 600


class FontTableError(ValueError):
    """The posted table is not a table of character widths; the message says where."""


def clean_font_table(value: Any) -> dict[str, dict[str, float]]:
    """The table ({font: {char: px}}) when it is one within the bounds; FontTableError else."""
    if not isinstance(value, dict) or not value:
        raise FontTableError("table: not an object of fonts")
    if len(value) > MAX_FONTS:
        raise FontTableError(f"table: more than {MAX_FONTS} fonts")
    table: dict[str, dict[str, float]] = {}
    for font, widths in value.items():
        if not isinstance(font, str) or not 0 < len(font) <= MAX_FONT_NAME:
            raise FontTableError(f"table: a font name must be 1 to {MAX_FONT_NAME} characters")
        where = f"table[{font[:40]!r}]"
        if not isinstance(widths, dict):
            raise FontTableError(f"{where}: not an object of characters")
        if len(widths) > MAX_CHARS:
            raise FontTableError(f"{where}: more than {MAX_CHARS} characters")
        clean: dict[str, float] = {}
        for char, width in widths.items():
            if not isinstance(char, str) or len(char) != 1 or "\ud800" <= char <= "\udfff":
                raise FontTableError(f"{where}: {char[:20]!r} is not one character")
            if isinstance(width, bool) or not isinstance(width, int | float) or not math.isfinite(width):
                raise FontTableError(f"{where}[{char!r}]: not a finite number")
            if not 0 <= width <= MAX_WIDTH:
                raise FontTableError(f"{where}[{char!r}]: not between 0 and {MAX_WIDTH:g} px")
            clean[char] = width
        table[font] = clean
    return table


def fingerprint(table: dict[str, dict[str, float]]) -> str:
    """SHA-256 of the table's canonical JSON: equal tables, equal fingerprints."""
    text = json.dumps(table, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def keep_font_table(user: Any, table: dict[str, dict[str, float]]) -> str:
    """Store a cleaned table as one of the user's (seen now); forget their oldest beyond
    MAX_TABLES_PER_USER. Returns its fingerprint."""
    fp = fingerprint(table)
    with transaction.atomic():
        row, created = FontTable.objects.get_or_create(
            user=user, fingerprint=fp, defaults={"table": table, "seen": timezone.now()}
        )
        if not created:
            FontTable.objects.filter(pk=row.pk).update(seen=timezone.now())
        older = FontTable.objects.filter(user=user).order_by("-seen", "-pk").values_list("pk", flat=True)
        FontTable.objects.filter(pk__in=list(older[MAX_TABLES_PER_USER:])).delete()
    return fp


def known_fingerprint(user: Any, cookie: str | None) -> str | None:
    """The cookie's fingerprint when it names a table the user reported, else None. The table is
    marked seen (at most once a day): a browser reports its table once, and the user's later
    pages keep it among the recent tables new versions are laid out for."""
    if not cookie or not getattr(user, "is_authenticated", False) or len(cookie) != 64:
        return None
    row = FontTable.objects.filter(user=user, fingerprint=cookie).values_list("pk", "seen").first()
    if row is None:
        return None
    now = timezone.now()
    if row[1] < now - timedelta(days=1):
        FontTable.objects.filter(pk=row[0]).update(seen=now)
    return cookie


def server_layout(version: Version, entry: str, known: str | None) -> ServerDiagramLayout | None:
    """The layout of (version, entry) the server computed for table `known` (known_fingerprint)."""
    if known is None:
        return None
    return ServerDiagramLayout.objects.filter(version=version, entry=entry, fingerprint=known).first()


def tables_for(version: Version) -> list[tuple[str, dict[str, Any]]]:
    """(fingerprint, table) of the tables to lay `version` out for: reported by a member of its
    project's team in the last RECENT_DAYS, the most recent first, at most MAX_TABLES_PER_VERSION."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    rows = (
        FontTable.objects.filter(user__memberships__team__projects=version.project_id, seen__gte=since)
        .order_by("-seen")
        .values_list("fingerprint", "table")
    )
    chosen: dict[str, dict[str, Any]] = {}
    for fp, table in rows[: MAX_TABLES_PER_VERSION * MAX_TABLES_PER_USER]:
        chosen.setdefault(fp, table)
        if len(chosen) == MAX_TABLES_PER_VERSION:
            break
    return list(chosen.items())


def lay_out_version(version_id: int) -> int:
    """Lay the version's entry document out for `tables_for` (those not laid out yet); returns how
    many layouts were stored. A table without a width for a character of the chart, or a layout
    beyond designer/elk.py's limits, is skipped (logged): that browser lays the version out itself."""
    from designer.elk import ElkError, ServerElk  # QuickJS and ELK's script: loaded only here
    from designer.layouts import LayoutError, clean_layout  # designer.layouts serves these layouts

    version = Version.objects.filter(pk=version_id).first()
    if version is None or not version.entry:
        return 0
    done = set(
        ServerDiagramLayout.objects.filter(version=version, entry=version.entry).values_list("fingerprint", flat=True)
    )
    tables = [(fp, table) for fp, table in tables_for(version) if fp not in done]
    if not tables:
        return 0
    graph = analysed("graph", version, version.entry)
    stored = 0
    elk = ServerElk()
    try:
        for fp, table in tables:
            try:
                key, result = elk.layout(graph, table)
                layout = clean_layout(result, graph)
            except (ElkError, LayoutError) as exc:
                logger.info("version %s: no server layout for fonts %s: %s", version_id, fp[:12], exc)
                # A call stopped midway (deadline, memory) may leave ELK's state half-updated: the
                # next table gets a new context, so every stored layout is a fresh ELK's.
                elk.close()
                elk = ServerElk()
                continue
            try:
                ServerDiagramLayout.objects.create(
                    version=version, entry=version.entry, fingerprint=fp, key=key, layout=layout
                )
                stored += 1
            except IntegrityError:
                pass  # laid out meanwhile by another worker: the same layout
    finally:
        elk.close()
    return stored


# --------------------------------------------------------------------------------------------
# Dispatch: Celery when the project runs its batches there, else this process's one thread.

_queue: queue.Queue[tuple[int, int]] = queue.Queue(LOCAL_QUEUE)
_pending: Counter[int] = Counter()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def _local_loop() -> None:
    while True:
        version_id, user_id = _queue.get()
        try:
            close_old_connections()
            lay_out_version(version_id)
        except Exception:  # the thread's last resort: the next version still gets its turn
            logger.exception("server layout of version %s failed", version_id)
        finally:
            close_old_connections()
            with _lock:
                _pending[user_id] -= 1
            _queue.task_done()


def schedule(version: Version) -> bool:
    """Lay `version` out in the background (see the module docstring); False when it was not
    queued (server layouts off, the local queue full, or its author's share of it taken)."""
    if not settings.DIAGRAM_SERVER_LAYOUTS:
        return False
    user_id = version.author_id or 0
    if settings.BATCH_EXECUTOR == "celery":
        from designer.tasks import lay_out_version_task  # needs the broker: imported only when asked for

        if not take_place(user_id):
            return False
        lay_out_version_task.apply_async((version.pk, user_id), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
        return True
    global _thread
    with _lock:
        if _pending[user_id] >= PER_USER or _queue.full():
            return False
        _pending[user_id] += 1
        _queue.put_nowait((version.pk, user_id))
        if _thread is None:
            _thread = threading.Thread(target=_local_loop, name="server-layouts", daemon=True)
            _thread.start()
    return True


def _place_key(user_id: int) -> str:
    return f"designer:server-layouts:pending:{user_id}"


def take_place(user_id: int) -> bool:
    """Count one more version of `user_id` waiting for the Celery workers; False (nothing counted)
    when PER_USER already wait. The count lives in the shared cache (Redis when scaled) and
    expires PLACE_SECONDS after the author's first waiting version."""
    key = _place_key(user_id)
    cache.add(key, 0, timeout=PLACE_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=PLACE_SECONDS)
        count = 1
    if count > PER_USER:
        release_place(user_id)
        return False
    return True


def release_place(user_id: int) -> None:
    """The place `take_place` counted, given back (the task ended, however)."""
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing left to give back
        cache.decr(_place_key(user_id))


def wait_local() -> None:
    """Until this process's queued versions are laid out (tests)."""
    _queue.join()
