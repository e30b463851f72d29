"""Celery tasks of the designer: a new version's diagram, a user's latest versions for a font
table new to them, or a version whose page was served without a layout, laid out by the server
(designer/serverlayouts.py), on the broker the project's batches use (``celery -A orchweb
worker``)."""

from __future__ import annotations

from orchweb.celery import app


@app.task(name="designer.lay_out_version", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def lay_out_version_task(version_id: int, user_id: int | None = None) -> int:
    """Lay the version's entry document out for its project's members' font tables, then give back
    the place its author's version took (`take_place`); a retry after a lost worker recomputes the
    same layouts (ELK is deterministic, rows are unique)."""
    from designer.serverlayouts import lay_out_version, release_place

    try:
        return lay_out_version(version_id)
    finally:
        if user_id is not None:
            release_place(user_id)


@app.task(name="designer.lay_out_latest", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def lay_out_latest_task(user_id: int, fingerprint: str, team_id: int | None = None) -> int:
    """Lay the user's latest versions (of a team they joined, when given) out for their font table
    (`lay_out_latest`), then give back the place it took."""
    from designer.serverlayouts import lay_out_latest, release_place

    try:
        return lay_out_latest(user_id, fingerprint, team_id)
    finally:
        release_place(user_id)


@app.task(name="designer.lay_out_viewed", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def lay_out_viewed_task(version_id: int, entry: str, user_id: int) -> int:
    """Lay out a version's document whose page was served with no layout for the bundled fonts'
    table (`schedule_viewed`: as `lay_out_version` on its creation), then give back the place it
    took of the viewer's and of the server's."""
    from designer.serverlayouts import lay_out_version, release_place, release_viewed_place

    try:
        return lay_out_version(version_id, entry)
    finally:
        release_place(user_id)
        release_viewed_place()
