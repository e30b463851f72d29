"""Elasticsearch connector (``http://www.genesyslab.com/modules/elasticconnector``), ORS 8.1.400.58+.

Spec: ``spec/ors-interaction-dialog.md`` section 4.  Four actions - ``createindextemplate``,
``createdoc``, ``updatedoc``, ``deletedoc`` - answered with ``elasticconnector.<action>.done`` or
``error.elasticconnector.<action> {requestid, error, description}``.  There is no read/search
action (strategies read Elasticsearch through ``<session:fetch>``) and no documented
``_genesys.elasticconnector`` member (the object exists, empty).

The fake keeps, per session, an in-memory store ``index -> type -> id -> document`` and the
registry of templates this ORS created (``name -> order``), and applies the documented template
rules: a pattern matching the ORS *performance* daily index (``performance-YYYY.MM.DD``) is
refused, a pattern matching the *session* daily index needs ``order > 0``, and a template already
created with the same name and an equal or higher order succeeds at once without a request.

Fakes profile (section ``elasticconnector``; a rule's ``params`` override it per request)
----------------------------------------------------------------------------------------
``{"delay": 0.05, "down": false, "documents": {"myindex": {"mytype": {"42": {"a": 1}}}},
   "templates": {"existing_template": 1}}``

``down`` makes every action fail with ``error:'timeout'`` after the action's ``timeout`` (ms) -
at once when ``timeout`` is 0; ``documents``/``templates`` seed the store of a new session.

Unverified choices
------------------
* Attributes beyond ``requestid``/``id`` of ``createdoc`` and every attribute of ``updatedoc`` /
  ``deletedoc`` mirror ``createindextemplate``: ``index`` and ``type`` required, ``doc`` (object)
  required for create/update, ``id`` required for update/delete, ``timeout`` in ms (default 0).
* Done events carry ``requestid``, ``id`` (for documents), ``result`` (``created``, ``updated``,
  ``deleted`` - the ES API words) and ``version`` (1 on creation, +1 per change); a template's
  done event carries ``requestid`` and ``name``.
* Errors: ``invalidattribute`` (refused template pattern/order, empty or wildcard index, missing
  id), ``remote`` with description ``document missing`` (update/delete of an unknown document),
  ``timeout`` (connector down).
* Pattern checks test the ES pattern (comma-separated, ``*`` wildcards, ``-`` exclusions ignored)
  against representative daily index names ``performance-2026.01.05`` / ``session-2026.01.05``.
* ``updatedoc`` merges objects recursively (ES partial-document update); ``createdoc`` on an
  existing id replaces the document (ES index API) and answers ``result:'updated'``.
* An unknown ``elasticconnector:*`` element is a definition error like for every other module
  (the spec also suggests an ``error.elasticconnector.<element> {error:'unknown'}`` event).
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping
from typing import Any

from .base import (
    REQUESTID,
    Action,
    Attr,
    Emit,
    EventDecl,
    FakeEnv,
    FakesSection,
    Module,
    Request,
    empty_js_object,
    error_emit,
    module,
)

INVALID = "invalidattribute"
REMOTE = "remote"
TIMEOUT = "timeout"
DEFAULT_DELAY = 0.05
#: representative names of the ORS daily indexes the template rules protect
PERFORMANCE_INDEX = "performance-2026.01.05"
SESSION_INDEX = "session-2026.01.05"

#: JSON schema of the profile's ``elasticconnector`` section (see :data:`FAKES`)
FAKES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "delay": {"type": "number", "minimum": 0},
        "down": {"type": "boolean"},
        "documents": {
            "type": "object",
            "description": "index -> type -> id -> document",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"type": "object", "additionalProperties": {"type": "object"}},
            },
        },
        "templates": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


def session_store(env: FakeEnv) -> dict[str, Any]:
    """This session's Elasticsearch state: ``docs`` (index -> type -> id -> document),
    ``versions`` (``index/type/id`` -> version) and ``templates`` (name -> order), seeded from the
    profile on first use."""
    store = env.state("elasticconnector")
    if not store:
        cfg = env.config("elasticconnector")
        store["docs"] = copy.deepcopy(cfg.get("documents") or {})
        store["versions"] = {}
        store["templates"] = dict(cfg.get("templates") or {})
    return store


def pattern_matches(pattern: str, index_name: str) -> bool:
    """Whether an ES index pattern (``a*,b``; ``-x`` exclusions ignored) covers `index_name`."""
    parts = [p.strip() for p in str(pattern).split(",")]
    return any(p and not p.startswith("-") and fnmatch.fnmatchcase(index_name, p) for p in parts)


def _merge(base: Any, patch: Any) -> Any:
    """ES partial update: objects merge recursively, anything else replaces."""
    if isinstance(base, dict) and isinstance(patch, Mapping):
        out = dict(base)
        for key, value in patch.items():
            out[key] = _merge(base.get(key), value)
        return out
    return copy.deepcopy(patch)


def _timeout_s(request: Request) -> float:
    value = request.attributes.get("timeout") or 0
    try:
        return max(0.0, float(value) / 1000.0)
    except (TypeError, ValueError):
        return 0.0


def _down(request: Request, env: FakeEnv, action: Action) -> list[Emit] | None:
    if not env.config("elasticconnector").get("down"):
        return None
    return [error_emit(MODULE, action, TIMEOUT, "Elasticsearch did not answer", delay=_timeout_s(request))]


def _delay(env: FakeEnv) -> float:
    return float(env.config("elasticconnector").get("delay", DEFAULT_DELAY))


def _text(request: Request, name: str) -> str:
    value = request.attributes.get(name)
    return "" if value is None else str(value).strip()


def fake_createindextemplate(request: Request, env: FakeEnv) -> list[Emit]:
    """Register a template unless the performance/session/order rules refuse it."""
    down = _down(request, env, CREATEINDEXTEMPLATE)
    if down:
        return down
    name, index = _text(request, "name"), _text(request, "index")
    for attr, value in (("name", name), ("index", index), ("type", _text(request, "type"))):
        if not value:
            return [error_emit(MODULE, CREATEINDEXTEMPLATE, INVALID, f"{attr} must not be empty")]
    try:
        order = int(request.attributes.get("order") or 0)
    except (TypeError, ValueError):
        return [error_emit(MODULE, CREATEINDEXTEMPLATE, INVALID, "order must be an integer")]
    if pattern_matches(index, PERFORMANCE_INDEX):
        return [
            error_emit(MODULE, CREATEINDEXTEMPLATE, INVALID, f"index pattern {index!r} matches the performance index")
        ]
    if order <= 0 and pattern_matches(index, SESSION_INDEX):
        return [
            error_emit(
                MODULE,
                CREATEINDEXTEMPLATE,
                INVALID,
                f"index pattern {index!r} matches the session index: the template order must be greater than 0",
            )
        ]
    templates = session_store(env)["templates"]
    if name in templates and templates[name] >= order:
        # already created by this ORS with an equal or higher order: success without a request
        return [Emit("elasticconnector.createindextemplate.done", {"name": name}, delay=0.0, final=True)]
    templates[name] = order
    return [Emit("elasticconnector.createindextemplate.done", {"name": name}, delay=_delay(env), final=True)]


def _doc_target(request: Request, action: Action, need_id: bool) -> tuple[str, str, str] | list[Emit]:
    index, dtype, doc_id = _text(request, "index"), _text(request, "type"), _text(request, "id")
    if not index or "*" in index or "," in index:
        return [error_emit(MODULE, action, INVALID, f"index must name one index, not {index!r}")]
    if not dtype:
        return [error_emit(MODULE, action, INVALID, "type must not be empty")]
    if need_id and not doc_id:
        return [error_emit(MODULE, action, INVALID, "id is required")]
    return index, dtype, doc_id


def _done(action: Action, env: FakeEnv, doc_id: str, result: str, version: int) -> list[Emit]:
    data = {"id": doc_id, "result": result, "version": version}
    return [Emit(MODULE.done_event(action), data, delay=_delay(env), final=True)]


def fake_createdoc(request: Request, env: FakeEnv) -> list[Emit]:
    """Store the document (id generated when absent); ``result`` created/updated."""
    down = _down(request, env, CREATEDOC)
    if down:
        return down
    target = _doc_target(request, CREATEDOC, need_id=False)
    if isinstance(target, list):
        return target
    index, dtype, doc_id = target
    doc = request.attributes.get("doc")
    if not isinstance(doc, Mapping):
        return [error_emit(MODULE, CREATEDOC, INVALID, "doc must be an object")]
    doc_id = doc_id or env.new_id("es")
    store = session_store(env)
    docs = store["docs"].setdefault(index, {}).setdefault(dtype, {})
    result = "updated" if doc_id in docs else "created"
    docs[doc_id] = copy.deepcopy(dict(doc))
    key = f"{index}/{dtype}/{doc_id}"
    store["versions"][key] = store["versions"].get(key, 0) + 1
    return _done(CREATEDOC, env, doc_id, result, store["versions"][key])


def _existing(request: Request, env: FakeEnv, action: Action) -> tuple[dict[str, Any], str, str] | list[Emit]:
    target = _doc_target(request, action, need_id=True)
    if isinstance(target, list):
        return target
    index, dtype, doc_id = target
    docs = session_store(env)["docs"].get(index, {}).get(dtype, {})
    if doc_id not in docs:
        return [error_emit(MODULE, action, REMOTE, "document missing")]
    return docs, doc_id, f"{index}/{dtype}/{doc_id}"


def fake_updatedoc(request: Request, env: FakeEnv) -> list[Emit]:
    """Merge ``doc`` into the stored document; unknown id -> ``remote``/``document missing``."""
    down = _down(request, env, UPDATEDOC)
    if down:
        return down
    patch = request.attributes.get("doc")
    if not isinstance(patch, Mapping):
        return [error_emit(MODULE, UPDATEDOC, INVALID, "doc must be an object")]
    found = _existing(request, env, UPDATEDOC)
    if isinstance(found, list):
        return found
    docs, doc_id, key = found
    docs[doc_id] = _merge(docs[doc_id], patch)
    versions = session_store(env)["versions"]
    versions[key] = versions.get(key, 1) + 1
    return _done(UPDATEDOC, env, doc_id, "updated", versions[key])


def fake_deletedoc(request: Request, env: FakeEnv) -> list[Emit]:
    """Remove the stored document; unknown id -> ``remote``/``document missing``."""
    down = _down(request, env, DELETEDOC)
    if down:
        return down
    found = _existing(request, env, DELETEDOC)
    if isinstance(found, list):
        return found
    docs, doc_id, key = found
    del docs[doc_id]
    versions = session_store(env)["versions"]
    versions[key] = versions.get(key, 1) + 1
    return _done(DELETEDOC, env, doc_id, "deleted", versions[key])


_TIMEOUT = Attr("timeout", type="integer", default=0, doc="ms from execution; 0 = no limit")
_INDEX = Attr("index", required=True, type="string", doc="index name")
_TYPE = Attr("type", required=True, type="string", doc="ES mapping type name")
_ERRORS = (INVALID, REMOTE, TIMEOUT)

CREATEINDEXTEMPLATE = Action(
    "createindextemplate",
    attributes=(
        REQUESTID,
        Attr("name", required=True, type="string", doc="template name"),
        Attr("index", required=True, type="string", doc="index name or pattern the template applies to"),
        Attr("order", type="integer", default=0, doc="template order (> 0 for session-index patterns)"),
        _TYPE,
        Attr("mapping", required=True, type="object", doc="body placed under mappings.<type>"),
        _TIMEOUT,
    ),
    events=("elasticconnector.createindextemplate.done", "error.elasticconnector.createindextemplate"),
    errors=_ERRORS,
    timeout=("timeout", 0.001),
    fake=fake_createindextemplate,
    doc="create an index template (unless this ORS already created it with an equal or higher order)",
)
CREATEDOC = Action(
    "createdoc",
    attributes=(
        REQUESTID,
        Attr("id", type="string", doc="document id (generated when absent)"),
        _INDEX,
        _TYPE,
        Attr("doc", required=True, type="object", doc="the document (unverified attribute name)"),
        _TIMEOUT,
    ),
    events=("elasticconnector.createdoc.done", "error.elasticconnector.createdoc"),
    errors=_ERRORS,
    timeout=("timeout", 0.001),
    fake=fake_createdoc,
    doc="add a document (ES index API)",
)
UPDATEDOC = Action(
    "updatedoc",
    attributes=(
        REQUESTID,
        Attr("id", required=True, type="string", doc="document id"),
        _INDEX,
        _TYPE,
        Attr("doc", required=True, type="object", doc="partial document merged into the stored one"),
        _TIMEOUT,
    ),
    events=("elasticconnector.updatedoc.done", "error.elasticconnector.updatedoc"),
    errors=_ERRORS,
    timeout=("timeout", 0.001),
    fake=fake_updatedoc,
    doc="update a document (ES update API)",
)
DELETEDOC = Action(
    "deletedoc",
    attributes=(REQUESTID, Attr("id", required=True, type="string", doc="document id"), _INDEX, _TYPE, _TIMEOUT),
    events=("elasticconnector.deletedoc.done", "error.elasticconnector.deletedoc"),
    errors=_ERRORS,
    timeout=("timeout", 0.001),
    fake=fake_deletedoc,
    doc="delete a document",
)

_DOC_FIELDS = ("requestid", "id", "result", "version")
_ERROR_FIELDS = ("requestid", "error", "description")

JS = empty_js_object("elasticconnector")

#: the profile section this module reads; a rule's ``params`` follow the same schema
FAKES = (FakesSection("elasticconnector", FAKES_SCHEMA, {}),)

MODULE: Module = module(
    "elasticconnector",
    fakes=FAKES,
    actions=(CREATEINDEXTEMPLATE, CREATEDOC, UPDATEDOC, DELETEDOC),
    events=(
        EventDecl("elasticconnector.createindextemplate.done", ("requestid", "name")),
        EventDecl("error.elasticconnector.createindextemplate", _ERROR_FIELDS),
        EventDecl("elasticconnector.createdoc.done", _DOC_FIELDS),
        EventDecl("error.elasticconnector.createdoc", _ERROR_FIELDS),
        EventDecl("elasticconnector.updatedoc.done", _DOC_FIELDS),
        EventDecl("error.elasticconnector.updatedoc", _ERROR_FIELDS),
        EventDecl("elasticconnector.deletedoc.done", _DOC_FIELDS),
        EventDecl("error.elasticconnector.deletedoc", _ERROR_FIELDS),
    ),
    js=JS,
    js_members=(),
    doc="Elasticsearch index templates and documents through ORS's connection",
)
