"""Classification interface (``http://www.genesyslab.com/modules/classification``).

Spec: ``spec/ors-interaction-dialog.md`` section 3.  Classifies or screens the text of an
interaction (e-mail, chat) through Classification Server / Content Analyzer:

* ``<classification:classify root=...>`` -> ``classification.classify.done {requestid,
  categories}`` with ``categories`` = ``[{name, id, relevancy}]`` sorted from the most to the
  least relevant;
* ``<classification:screen>`` -> ``classification.screen.done {requestid, rules, screenrule,
  categories}`` with ``rules`` = ``[{name, id, match, value}]`` (``screenrule`` is the same array:
  the Developer's Guide and the Technical Reference disagree on the name, so both are filled).

The module has no documented ``_genesys.classification`` members; the object exists (empty) so
``typeof _genesys.classification`` is ``'object'`` as on ORS.

Fakes profile (section ``classification``; a rule's ``params`` override it per request)
-----------------------------------------------------------------------------------------
``{"delay": 0.2, "attach_categories": true,
   "text": "override of the interaction text",
   "classify": [{"root": "Billing|re:^Bill", "text": "re:invoice", "categories": [
                   {"name": "Billing", "id": "000AaA0000001", "relevancy": 87}]}],
   "screen_rules": [{"name": "Refund", "id": "000AaA00000R1", "pattern": "refund|money back"}]}``

``classify`` entries are tried in order; ``root`` and ``text`` are optional filters (exact text,
or ``re:`` + a regular expression searched in the value).  The first matching entry gives the
categories; no match gives ``[]``.  ``screen_rules`` patterns are case-insensitive regular
expressions searched in the interaction text; ``value`` is the matched part.

Unverified choices
------------------
* ``root`` is declared required (a missing attribute is a definition error, as for every module);
  a ``root`` that evaluates to an empty value answers ``error.classification.classify
  {error:'Request Invalid', description:'root is required'}``.
* ``<classification:screen>``'s attributes were not readable: ``requestid``, ``server``,
  ``interactionid`` as for classify, plus ``rules`` (a rule name, a comma-separated list or an
  array) restricting which configured screening rules are evaluated (default: all) and an
  optional ``root`` accepted for symmetry.
* ``interactionid`` ``"0"`` (the default) means the session's first interaction; an id the
  platform does not know answers ``error.classification.<action> {error:'Request Invalid'}``.
* The interaction text is the profile ``text`` if given, else the interaction's
  ``msgbased.subject``/``text``/``body`` and ``chat.text``/``transcript`` joined by new lines.
* The categories of ``classify`` are also stored in ``_genesys.ixn.interactions[id].categories``
  when the done event is delivered (the object model documents that property as holding them);
  ``"attach_categories": false`` turns this off.
* ``relevancy`` values are clamped to 1..100 and rounded to integers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .base import (
    INTERACTIONID,
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

REQUEST_INVALID = "Request Invalid"
DEFAULT_DELAY = 0.2

_CATEGORY_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {"name": {"type": "string"}, "id": {"type": "string"}, "relevancy": {"type": "number"}},
}
#: JSON schema of the profile's ``classification`` section (see :data:`FAKES`)
FAKES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "delay": {"type": "number", "minimum": 0},
        "attach_categories": {"type": "boolean"},
        "text": {"type": "string"},
        "classify": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["categories"],
                "additionalProperties": False,
                "properties": {
                    "root": {"type": "string"},
                    "text": {"type": "string"},
                    "categories": {"type": "array", "items": _CATEGORY_SCHEMA},
                },
            },
        },
        "screen_rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "pattern"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "id": {"type": "string"}, "pattern": {"type": "string"}},
            },
        },
    },
}


def _text_matches(expected: Any, actual: str) -> bool:
    """Profile filter: exact text, or ``re:<regex>`` searched in `actual` (case-insensitive)."""
    if expected in (None, "", "*"):
        return True
    expected = str(expected)
    if expected.startswith("re:"):
        return re.search(expected[3:], actual, re.IGNORECASE) is not None
    return expected == actual


def interaction_text(ixn: Mapping[str, Any] | None) -> str:
    """The text content a classification server would analyse for interaction `ixn`."""
    if not ixn:
        return ""
    parts: list[str] = []
    for section, keys in (("msgbased", ("subject", "text", "body")), ("chat", ("text", "transcript"))):
        data = ixn.get(section)
        if isinstance(data, Mapping):
            parts.extend(str(data[k]) for k in keys if data.get(k) not in (None, ""))
    return "\n".join(parts)


def category(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A ``category`` result object: ``{name, id, relevancy}`` (relevancy an integer 1..100)."""
    try:
        relevancy = round(float(raw.get("relevancy", 100)))
    except (TypeError, ValueError):
        relevancy = 100
    return {"name": str(raw.get("name", "")), "id": str(raw.get("id", "")), "relevancy": max(1, min(100, relevancy))}


def sorted_categories(raw: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Category objects sorted from the highest to the lowest relevancy (stable for ties)."""
    return sorted((category(c) for c in raw), key=lambda c: -c["relevancy"])


def _interaction(request: Request, env: FakeEnv, action: Action) -> dict[str, Any] | list[Emit]:
    """The interaction a request is about, or the ``Request Invalid`` error to send."""
    wanted = request.attributes.get("interactionid")
    if wanted in (None, "", "0", 0):
        wanted = env.primary_interaction_id()
    ixn = env.interaction(str(wanted)) if wanted not in (None, "") else None
    if ixn is None:
        return [error_emit(MODULE, action, REQUEST_INVALID, f"unknown interaction {wanted!r}")]
    return ixn


def fake_classify(request: Request, env: FakeEnv) -> list[Emit]:
    """``classification.classify.done`` with the first matching profile entry's categories."""
    root = request.attributes.get("root")
    if root in (None, "") or (isinstance(root, str) and not root.strip()):
        return [error_emit(MODULE, CLASSIFY, REQUEST_INVALID, "root is required")]
    ixn = _interaction(request, env, CLASSIFY)
    if isinstance(ixn, list):
        return ixn
    cfg = env.config("classification")
    text = str(cfg["text"]) if cfg.get("text") is not None else interaction_text(ixn)
    found: list[dict[str, Any]] = []
    for entry in cfg.get("classify") or ():
        if _text_matches(entry.get("root"), str(root)) and _text_matches(entry.get("text"), text):
            found = sorted_categories(entry.get("categories") or ())
            break
    delay = float(cfg.get("delay", DEFAULT_DELAY))
    ixn_id = str(ixn.get("g_uid", ""))

    def store_categories(platform: FakeEnv) -> None:
        obj = platform.interaction(ixn_id)
        if obj is not None:  # still in the session when the answer arrives
            obj["categories"] = [dict(c) for c in found]
            platform.add_interaction(obj=obj)  # re-mirrors it into JS

    effect = store_categories if cfg.get("attach_categories", True) else None
    return [Emit("classification.classify.done", {"categories": found}, delay=delay, final=True, effect=effect)]


def _wanted_rules(value: Any) -> set[str] | None:
    if value in (None, ""):
        return None
    if isinstance(value, (list, tuple)):
        return {str(v).strip() for v in value if str(v).strip()}
    return {part.strip() for part in str(value).split(",") if part.strip()}


def fake_screen(request: Request, env: FakeEnv) -> list[Emit]:
    """``classification.screen.done``: every configured screening rule matched against the text."""
    ixn = _interaction(request, env, SCREEN)
    if isinstance(ixn, list):
        return ixn
    cfg = env.config("classification")
    text = str(cfg["text"]) if cfg.get("text") is not None else interaction_text(ixn)
    wanted = _wanted_rules(request.attributes.get("rules"))
    rules: list[dict[str, Any]] = []
    for rule in cfg.get("screen_rules") or ():
        name = str(rule.get("name", ""))
        if wanted is not None and name not in wanted:
            continue
        try:
            hit = re.search(str(rule.get("pattern", "")), text, re.IGNORECASE)
        except re.error as exc:
            return [error_emit(MODULE, SCREEN, REQUEST_INVALID, f"screening rule {name!r}: bad pattern ({exc})")]
        rules.append(
            {
                "name": name,
                "id": str(rule.get("id", "")),
                "match": hit is not None,
                "value": hit.group(0) if hit else "",
            }
        )
    delay = float(cfg.get("delay", DEFAULT_DELAY))
    data = {"rules": rules, "screenrule": [dict(r) for r in rules], "categories": []}
    return [Emit("classification.screen.done", data, delay=delay, final=True)]


_SERVER = Attr("server", type="string", doc="Classification Server to use (default: the first available)")
_IXN = Attr(INTERACTIONID.name, type="string", default="0", doc="g_uid of the interaction; '0' = the session's first")

CLASSIFY = Action(
    "classify",
    attributes=(
        REQUESTID,
        _SERVER,
        _IXN,
        Attr("root", required=True, type="string", doc="root category to classify against"),
    ),
    events=("classification.classify.done", "error.classification.classify"),
    errors=(REQUEST_INVALID,),
    fake=fake_classify,
    doc="classify the interaction's content into knowledge-base categories (IRD Classify)",
)
SCREEN = Action(
    "screen",
    attributes=(
        REQUESTID,
        _SERVER,
        _IXN,
        Attr("rules", doc="screening rule name(s) to evaluate (unverified attribute; default: all)"),
        Attr("root", type="string", doc="accepted for symmetry with classify (unverified attribute)"),
    ),
    events=("classification.screen.done", "error.classification.screen"),
    errors=(REQUEST_INVALID,),
    fake=fake_screen,
    doc="screen the interaction's content against screening rules (IRD Screen)",
)

JS = empty_js_object("classification")

#: the profile section this module reads; a rule's ``params`` follow the same schema
FAKES = (FakesSection("classification", FAKES_SCHEMA, {}, js=True),)

MODULE: Module = module(
    "classification",
    invalid_error=REQUEST_INVALID,
    fakes=FAKES,
    actions=(CLASSIFY, SCREEN),
    events=(
        EventDecl(
            "classification.classify.done",
            ("requestid", "categories"),
            "categories: [{name, id, relevancy}] from the most to the least relevant",
        ),
        EventDecl("error.classification.classify", ("requestid", "error", "description"), "error: 'Request Invalid'"),
        EventDecl(
            "classification.screen.done",
            ("requestid", "rules", "screenrule", "categories"),
            "rules (= screenrule): [{name, id, match, value}]",
        ),
        EventDecl("error.classification.screen", ("requestid", "error", "description"), "error: 'Request Invalid'"),
    ),
    js=JS,
    js_members=(),
    doc="content classification and screening (Classification Server / Content Analyzer)",
)
