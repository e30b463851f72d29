"""Layouts of new versions computed by the server, so that the first open of a version nobody laid
out draws at once instead of running ELK in the browser (docs/designer.md "Diagram layouts").

A browser reports its character widths for the diagram's fonts once (`clean_font_table`,
`keep_font_table`: POST /api/fonts, designer.models.FontTable; its fingerprint goes back in the
`orchweb_fonts` cookie). When a version is created (import, upload, save: designer.history.
create_version), `schedule` lays its entry document out in the background for the tables of the
project's members seen in the last `RECENT_DAYS` (at most `MAX_TABLES_PER_VERSION`), with
designer/elk.py (the diagram's own ELK-input builder and elkjs in QuickJS), and keeps each
layout under the key the browser checks (designer.models.ServerDiagramLayout). The page serves a
user the layout computed for the fingerprint in their cookie (`server_layouts`, through
designer.layouts.layout_store); the browser draws it only when its own ELK input hashes to that
key, else it lays out as before.

The diagram's fonts are served with the page (static/orchweb/fonts, diagram-fonts.css), so browsers that
load them measure alike: every version is also laid out for that table (`BUNDLED_TABLE`, measured
in chromium by scripts/diagram_font_table.py), and a page whose browser has no known table of its
own (a new browser, a share link's visitor) is served that layout. So the first open of a version,
by anyone, draws without ELK in the browser once the server has laid it out.

Where it runs: with ``ORCHWEB_BATCH_EXECUTOR=celery`` a Celery task (designer/tasks.py) on the
project's broker, at most `PER_USER` pending versions of one author (counted in the shared cache:
the workers are shared with every user's batches); otherwise one thread of this process (QuickJS
releases the GIL while ELK runs), fed by a bounded queue (`LOCAL_QUEUE`, at most `PER_USER`
pending versions of one author). A version beyond that is simply laid out by the first browser
that opens it, as before.

A table new to its user (a new member's browser, a new browser of a member: `keep_font_table`)
also lays out, for it alone, the latest version of that user's `CATCH_UP_PROJECTS` most recently
changed projects that have none for it (`lay_out_latest`): the versions made before the browser
reported its table, so the user's first open of the team's current work draws at once too. Joining
a team (accepting an invitation) does the same for that team's projects, for the table of the
browser that accepted. Bounded
per report (one job, at most `CATCH_UP_PROJECTS` layouts), per user (`CATCH_UPS_PER_DAY` such jobs a
day, each taking one of the author's `PER_USER` places) and in all (`LOCAL_QUEUE`); the request
only queues it. base.html's pages report the table after their first view (`page_font_report`),
so the first page a new member sees starts it.

What is left without a layout (versions made with server layouts off, when the queue was full, or
before migration 0006 deleted the stored layouts) is laid out two ways. A page of such a version
(the simulation page, the diagram view: designer.layouts.layout_store) queues its layout as if the
version had just been created (`schedule_viewed`: once, bounded per viewer and per server, a few
seconds after the page), so the next open by anyone draws at once. And an operator lays out the
latest version of every project (or every version) in one run: `manage.py lay_out_versions`
(`versions_without_layouts`, `LayoutRun`: the same tables, keys and code as a new version's).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from designer.analysis import analysed
from designer.models import FontTable, Project, ServerDiagramLayout, Version

if TYPE_CHECKING:  # QuickJS and ELK's script: loaded only when a layout is made (`LayoutRun.lay_out`)
    from designer.elk import ServerElk

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
#: a table new to its user lays out the latest version of this many of their projects (the most
#: recently changed that have none for it), looking at this many projects
CATCH_UP_PROJECTS = 3
CATCH_UP_CANDIDATES = 20
#: tables new to one user that lay out their projects' versions, a day (one per browser they keep)
CATCH_UPS_PER_DAY = MAX_TABLES_PER_USER
#: a page served with no layout for the bundled fonts' table queues its version's layout
#: (`schedule_viewed`): at most this many such jobs of one viewer a day, this many waiting on the
#: server at once (half the local queue: new versions keep the rest), starting this many seconds
#: after the page (its browser runs ELK meanwhile), and a (version, document) queued again only
#: after this many seconds (a chart the bundled table cannot lay out is tried once a day)
VIEWED_PER_DAY = 30
VIEWED_WAITING = LOCAL_QUEUE // 2
VIEWED_DELAY = 3.0
VIEWED_AGAIN_SECONDS = 86400
#: the largest body POST /api/fonts parses: a table within the bounds above is under half of it
#: (4 x 1,024 entries of at most ~34 bytes of JSON each), a real browser's ~10 KB
MAX_TABLE_BYTES = 256 * 1024
#: the session's record of the table this browser reported (or the server found known) for its user
FONTS_SESSION_KEY = "orchweb_fonts"


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
    MAX_TABLES_PER_USER. A table new to the user lays out their latest versions for it once
    committed (`schedule_catch_up`). Returns its fingerprint."""
    fp = fingerprint(table)
    with transaction.atomic():
        row, created = FontTable.objects.get_or_create(
            user=user, fingerprint=fp, defaults={"table": table, "seen": timezone.now()}
        )
        if not created:
            FontTable.objects.filter(pk=row.pk).update(seen=timezone.now())
        older = FontTable.objects.filter(user=user).order_by("-seen", "-pk").values_list("pk", flat=True)
        FontTable.objects.filter(pk__in=list(older[MAX_TABLES_PER_USER:])).delete()
        if created:
            user_id = user.pk
            transaction.on_commit(lambda: schedule_catch_up(user_id, fp))
    return fp


#: the widths every browser measures with the diagram's bundled fonts (static/orchweb/fonts, made
#: in chromium by scripts/diagram_font_table.py): every version is laid out for it, and a page whose
#: browser has no known table of its own (a new browser, a share link's visitor) is served that
#: layout; the browser draws it when its own ELK input hashes to the layout's key, as for any other
BUNDLED_TABLE: dict[str, dict[str, float]] = json.loads(
    (Path(__file__).with_name("diagram_font_table.json")).read_text(encoding="utf-8")
)
BUNDLED_FINGERPRINT = fingerprint(BUNDLED_TABLE)


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


def server_layouts(version: Version, entry: str, known: str | None) -> dict[str, ServerDiagramLayout]:
    """Fingerprint -> the layout of (version, entry) the server computed for it, of table `known`
    (known_fingerprint) and of the bundled fonts' table, in one query."""
    wanted = [fp for fp in (known, BUNDLED_FINGERPRINT) if fp is not None]
    return {
        row.fingerprint: row
        for row in ServerDiagramLayout.objects.filter(version=version, entry=entry, fingerprint__in=wanted)
    }


def pick_server_layout(rows: dict[str, ServerDiagramLayout], known: str | None) -> ServerDiagramLayout | None:
    """Of `server_layouts`, the one to serve: table `known`'s, else the bundled fonts' table's."""
    return next((rows[fp] for fp in (known, BUNDLED_FINGERPRINT) if fp is not None and fp in rows), None)


def tables_for(version: Version) -> list[tuple[str, dict[str, Any]]]:
    """(fingerprint, table) of the tables to lay `version` out for: the bundled fonts', then those
    reported by a member of its project's team in the last RECENT_DAYS, the most recent first, at
    most MAX_TABLES_PER_VERSION in all."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    rows = (
        FontTable.objects.filter(user__memberships__team__projects=version.project_id, seen__gte=since)
        .order_by("-seen")
        .values_list("fingerprint", "table")
    )
    chosen: dict[str, dict[str, Any]] = {BUNDLED_FINGERPRINT: BUNDLED_TABLE}
    for fp, table in rows[: MAX_TABLES_PER_VERSION * MAX_TABLES_PER_USER]:
        chosen.setdefault(fp, table)
        if len(chosen) == MAX_TABLES_PER_VERSION:
            break
    return list(chosen.items())


def lay_out_version(version_id: int, entry: str | None = None) -> int:
    """Lay the version's document `entry` (its entry document by default) out for `tables_for`
    (those not laid out yet); returns how many layouts were stored."""
    version = Version.objects.filter(pk=version_id).first()
    if version is None or not (entry or version.entry):
        return 0
    return _lay_out([(version, entry or version.entry, tables_for(version))])


def latest_versions_for(user_id: int, fp: str, team_id: int | None = None) -> list[Version]:
    """The latest versions, with an entry document, of the CATCH_UP_PROJECTS most recently changed
    projects (among the CATCH_UP_CANDIDATES latest) the user can read, of team `team_id` only when
    given, that have no server layout for table `fp`: the most recent first."""
    newest = Version.objects.filter(project=OuterRef("pk")).order_by("-number")
    projects = Project.objects.filter(team__memberships__user_id=user_id)
    if team_id is not None:
        projects = projects.filter(team_id=team_id)
    latest = list(
        projects.annotate(latest=Subquery(newest.values("pk")[:1]), changed=Subquery(newest.values("created_at")[:1]))
        .exclude(latest=None)
        .order_by("-changed", "-pk")
        .values_list("latest", flat=True)[:CATCH_UP_CANDIDATES]
    )
    versions = Version.objects.in_bulk(latest)
    done = set(
        ServerDiagramLayout.objects.filter(version__in=latest, fingerprint=fp).values_list("version_id", "entry")
    )
    chosen = [versions[pk] for pk in latest if versions[pk].entry and (pk, versions[pk].entry) not in done]
    return chosen[:CATCH_UP_PROJECTS]


def lay_out_latest(user_id: int, fp: str, team_id: int | None = None) -> int:
    """Lay `latest_versions_for` the user (of team `team_id` when given) out for their table `fp`
    alone (a table new to them, or a team they just joined: the versions made before); returns how
    many layouts were stored."""
    table = FontTable.objects.filter(user_id=user_id, fingerprint=fp).values_list("table", flat=True).first()
    if table is None:  # forgotten meanwhile (the user reported MAX_TABLES_PER_USER others)
        return 0
    return _lay_out([(v, v.entry, [(fp, table)]) for v in latest_versions_for(user_id, fp, team_id)])


Tables = list[tuple[str, dict[str, Any]]]

#: versions whose stored layouts `versions_without_layouts` reads in one query
_CHUNK = 200


def versions_without_layouts(
    all_versions: bool = False, projects: Iterable[int] | None = None
) -> Iterator[tuple[Version, Tables]]:
    """The versions with an entry document that lack a server layout of it for one of the tables
    a new version is laid out for (`tables_for`: the bundled fonts', and its project's members'
    recent ones), each with the tables it lacks: the latest version of every project, the most
    recently changed first, or every version, the newest first (`all_versions`); of `projects`
    (ids) when given. Read as it goes (layouts stored meanwhile are not listed again)."""
    if all_versions:
        rows = Version.objects.exclude(entry="")
        if projects is not None:
            rows = rows.filter(project_id__in=list(projects))
        ids = list(rows.order_by("-created_at", "-pk").values_list("pk", flat=True))
    else:
        newest = Version.objects.filter(project=OuterRef("pk")).order_by("-number")
        chosen = Project.objects.all() if projects is None else Project.objects.filter(pk__in=list(projects))
        ids = list(
            chosen.annotate(latest=Subquery(newest.values("pk")[:1]), changed=Subquery(newest.values("created_at")[:1]))
            .exclude(latest=None)
            .order_by("-changed", "-pk")
            .values_list("latest", flat=True)
        )
    tables: dict[int, Tables] = {}  # per project: its members' tables (tables_for)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        versions = Version.objects.select_related("project").in_bulk(chunk)
        done = set(
            ServerDiagramLayout.objects.filter(version_id__in=chunk).values_list("version_id", "entry", "fingerprint")
        )
        for pk in chunk:
            version = versions.get(pk)
            if version is None or not version.entry:
                continue
            if version.project_id not in tables:
                tables[version.project_id] = tables_for(version)
            todo = [(fp, t) for fp, t in tables[version.project_id] if (pk, version.entry, fp) not in done]
            if todo:
                yield version, todo


class LayoutRun:
    """Layouts of versions' documents stored one after the other in one ELK context (started on
    the first layout, ~0.3 s; a new one after a failed call): the one code path of every server
    layout, a new version's, a catch-up's, a viewed version's, and `manage.py lay_out_versions`'
    (designer/management/commands/lay_out_versions.py). Close it (or use it in a `with`)."""

    def __init__(self) -> None:
        self.elk: ServerElk | None = None

    def __enter__(self) -> LayoutRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.elk is not None:
            self.elk.close()
            self.elk = None

    def lay_out(self, version: Version, entry: str, tables: Tables) -> int:
        """Lay document `entry` of `version` out for those of `tables` it has no layout for yet;
        returns how many layouts were stored, each committed as it is (an interrupted run keeps
        them). A table without a width for a character of the chart, or a layout beyond
        designer/elk.py's limits, is skipped (logged): that browser lays the version out itself.
        A graph that cannot be built raises (the caller goes on with its next version)."""
        from designer.elk import ElkError, ServerElk  # QuickJS and ELK's script: loaded only here
        from designer.layouts import LayoutError, clean_layout  # designer.layouts serves these layouts

        done = set(
            ServerDiagramLayout.objects.filter(version=version, entry=entry).values_list("fingerprint", flat=True)
        )
        todo = [(fp, table) for fp, table in tables if fp not in done]
        if not todo:
            return 0
        graph = analysed("graph", version, entry)
        stored = 0
        for fp, table in todo:
            self.elk = self.elk or ServerElk()
            try:
                key, result = self.elk.layout(graph, table)
                layout = clean_layout(result, graph)
            except (ElkError, LayoutError) as exc:
                logger.info("version %s: no server layout for fonts %s: %s", version.pk, fp[:12], exc)
                # A call stopped midway (deadline, memory) may leave ELK's state half-updated:
                # the next layout gets a new context, so every stored layout is a fresh ELK's.
                self.close()
                continue
            try:
                ServerDiagramLayout.objects.create(version=version, entry=entry, fingerprint=fp, key=key, layout=layout)
                stored += 1
            except IntegrityError:
                pass  # laid out meanwhile by another worker: the same layout
        return stored


def _lay_out(jobs: list[tuple[Version, str, Tables]]) -> int:
    """Lay each (version, document, tables) out in one `LayoutRun`; returns how many layouts were
    stored. A version whose graph cannot be built is logged and skipped: the next one still runs."""
    stored = 0
    with LayoutRun() as run:
        for version, entry, tables in jobs:
            try:
                stored += run.lay_out(version, entry, tables)
            except DatabaseError:
                raise  # the database's errors end the job; a chart's end its version only
            except Exception:
                logger.exception("version %s: %s: no server layout", version.pk, entry)
    return stored


# --------------------------------------------------------------------------------------------
# Dispatch: Celery when the project runs its batches there, else this process's one thread.

#: (not before, order queued, job, user id): the job due first, in the order queued; at most
#: LOCAL_QUEUE waiting (counted by `_on_thread`)
_queue: queue.PriorityQueue[tuple[float, int, Callable[[], int], int]] = queue.PriorityQueue()
_order = itertools.count()
_pending: Counter[int] = Counter()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def _local_loop() -> None:
    while True:
        item = _queue.get()
        wait = item[0] - time.monotonic()
        if wait > 0:
            # Not due yet (a viewed version's job, VIEWED_DELAY after the page that runs ELK in its
            # own browser meanwhile): a job queued in the meantime that is due sooner (a new
            # version's) goes first; else this one starts when due.
            try:
                sooner = _queue.get(timeout=wait)
            except queue.Empty:
                pass
            else:
                with _lock:
                    _queue.put(item)
                    _queue.put(sooner)
                _queue.task_done()
                _queue.task_done()
                continue
        _, _, job, user_id = item
        try:
            close_old_connections()
            job()
        except Exception:  # the thread's last resort: the next job still gets its turn
            logger.exception("server layout %s failed", job)
        finally:
            close_old_connections()
            with _lock:
                _pending[user_id] -= 1
            _queue.task_done()


def _on_thread(user_id: int, job: Callable[[], int], delay: float = 0.0) -> bool:
    """Queue `job` for this process's layout thread, to start `delay` seconds from now at the
    earliest; False when LOCAL_QUEUE jobs wait already or `user_id` has PER_USER jobs waiting."""
    global _thread
    with _lock:
        if _pending[user_id] >= PER_USER or _queue.qsize() >= LOCAL_QUEUE:
            return False
        _pending[user_id] += 1
        _queue.put((time.monotonic() + delay, next(_order), job, user_id))
        if _thread is None:
            _thread = threading.Thread(target=_local_loop, name="server-layouts", daemon=True)
            _thread.start()
    return True


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
    return _on_thread(user_id, partial(lay_out_version, version.pk))


def schedule_catch_up(user_id: int, fp: str, team_id: int | None = None) -> bool:
    """Lay the user's latest versions (of team `team_id` when given: a team they just joined) out
    for their table `fp` in the background (`lay_out_latest`); False when it was not queued: server
    layouts off, the user's CATCH_UPS_PER_DAY spent (a refused queue spends one too), or as
    `schedule`."""
    if not settings.DIAGRAM_SERVER_LAYOUTS or not _take(_catch_up_key(user_id), CATCH_UPS_PER_DAY, 86400):
        return False
    if settings.BATCH_EXECUTOR == "celery":
        from designer.tasks import lay_out_latest_task  # needs the broker: imported only when asked for

        if not take_place(user_id):
            return False
        lay_out_latest_task.apply_async((user_id, fp, team_id), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
        return True
    return _on_thread(user_id, partial(lay_out_latest, user_id, fp, team_id))


def schedule_viewed(user_id: int, version: Version, entry: str) -> bool:
    """Lay document `entry` of `version` out in the background as if it had just been created
    (`lay_out_version`: the bundled fonts' table and its project's members' recent tables),
    because a page of it was served with no layout for the bundled fonts' table (a version made
    before server layouts, with them off, or when the queue was full; layout_store calls it after
    the page's transaction commits). So the next open of it, by anyone, draws without ELK in the
    browser; the page that queued it still lays out itself, and the job starts VIEWED_DELAY
    seconds later so as not to compete with it.

    Queued once: a (version, entry) queued in the last VIEWED_AGAIN_SECONDS is not queued again
    (a chart the bundled table cannot lay out is tried once a day), and one laid out is no longer
    viewed without its layout. Bounded per user `user_id` (the viewer; 0 for a share link's
    visitor): VIEWED_PER_DAY such jobs a day, each taking one of their PER_USER places; and per
    server: VIEWED_WAITING such jobs waiting at once (in the shared cache), in this process's
    LOCAL_QUEUE, or on the Celery workers. False when it was not queued: then nothing is counted,
    and a later page may queue it."""
    if not settings.DIAGRAM_SERVER_LAYOUTS or not entry:
        return False
    marker = _viewed_key(version.pk, entry)
    if not cache.add(marker, 1, timeout=VIEWED_AGAIN_SECONDS):
        return False  # queued already (or tried today)
    taken: list[str] = []  # the counts taken, given back when the job is refused
    queued = False
    try:
        for key, limit, seconds in (
            (_viewed_day_key(user_id), VIEWED_PER_DAY, 86400),
            (VIEWED_WAITING_KEY, VIEWED_WAITING, PLACE_SECONDS),
        ):
            if not _take(key, limit, seconds):
                return False
            taken.append(key)
        if settings.BATCH_EXECUTOR == "celery":
            from designer.tasks import lay_out_viewed_task  # needs the broker: imported only when asked for

            if take_place(user_id):
                try:  # a page is being served: a broker that does not answer at once is not waited for
                    lay_out_viewed_task.apply_async(
                        (version.pk, entry, user_id),
                        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
                        countdown=VIEWED_DELAY,
                        retry=False,
                    )
                    queued = True
                except Exception:
                    release_place(user_id)
                    logger.warning("version %s: %s: layout not queued", version.pk, entry, exc_info=True)
        else:
            queued = _on_thread(user_id, partial(_lay_out_viewed, version.pk, entry), VIEWED_DELAY)
        return queued
    finally:
        if not queued:  # refused: nothing counted, and a later page may queue it
            for key in taken:
                _release(key)
            cache.delete(marker)


def _lay_out_viewed(version_id: int, entry: str) -> int:
    """The job `schedule_viewed` queued on this process's thread: the version laid out, then the
    server's place of viewed versions given back."""
    try:
        return lay_out_version(version_id, entry)
    finally:
        _release(VIEWED_WAITING_KEY)


def release_viewed_place() -> None:
    """The server's place a viewed version's job took (`schedule_viewed`), given back (the Celery
    task ended, however)."""
    _release(VIEWED_WAITING_KEY)


def _viewed_key(version_id: int, entry: str) -> str:
    return f"designer:server-layouts:viewed:{version_id}:{hashlib.sha256(entry.encode()).hexdigest()[:32]}"


def _viewed_day_key(user_id: int) -> str:
    return f"designer:server-layouts:viewed-today:{user_id}"


VIEWED_WAITING_KEY = "designer:server-layouts:viewed-waiting"


def _catch_up_key(user_id: int) -> str:
    return f"designer:server-layouts:catch-ups:{user_id}"


def forget_counts(user_id: int) -> None:
    """Forget the user's day of catch-ups and of viewed versions, and their Celery places (tests,
    an administrator's reset)."""
    cache.delete_many([_catch_up_key(user_id), _viewed_day_key(user_id), _place_key(user_id)])


def forget_viewed(version_id: int, entry: str) -> None:
    """Forget that (version, entry) was queued by a page view (tests; after deleting its layouts)."""
    cache.delete(_viewed_key(version_id, entry))


def _take(key: str, limit: int, seconds: int) -> bool:
    """Count one more in the shared cache's counter `key` (expiring `seconds` after its first
    count); False, the count unchanged, when `limit` are counted already."""
    cache.add(key, 0, timeout=seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=seconds)
        count = 1
    if count > limit:
        with contextlib.suppress(ValueError):
            cache.decr(key)
        return False
    return True


def _place_key(user_id: int) -> str:
    return f"designer:server-layouts:pending:{user_id}"


def take_place(user_id: int) -> bool:
    """Count one more version of `user_id` waiting for the Celery workers; False (nothing counted)
    when PER_USER already wait. The count lives in the shared cache (Redis when scaled) and
    expires PLACE_SECONDS after the author's first waiting version."""
    return _take(_place_key(user_id), PER_USER, PLACE_SECONDS)


def release_place(user_id: int) -> None:
    """The place `take_place` counted, given back (the task ended, however)."""
    _release(_place_key(user_id))


def _release(key: str) -> None:
    """One count of `_take`'s counter `key` given back."""
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing left to give back
        cache.decr(key)


def wait_local() -> None:
    """Until this process's queued layouts are done (tests)."""
    _queue.join()
