"""Session module (``http://www.genesyslab.com/modules/session``, ``_genesys.session``).

Spec: ``spec/ors-core.md`` section 2.  Actions fetch (HTTP/ESP/URS requests answered from the
fakes profile's ``http`` section; no network), start, terminate, updatestart; the synchronous
lookup functions (lists, config options, special days) written in JS over the profile data
``__orsFakes``. The time-zone functions ask ``zone_now`` (through ``__orsCall('session.zone')``)
for the date and time of a zone at the virtual clock's instant, from the pinned tz database.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from .. import timezones
from .base import (
    CONTENT,
    PARAM,
    REQUESTID,
    Action,
    Attr,
    Emit,
    EventDecl,
    FakeEnv,
    FakesSection,
    JSMember,
    Module,
    Request,
    error_emit,
    find_children,
    module,
    regex_problem,
)

#: what a canned HTTP answer may set (per-URL rules and the default answer alike)
_HTTP_RESPONSE = {
    "status": {"type": "integer", "minimum": 0},
    "headers": {"type": "object"},
    "body": {},
    "delay": {"type": "number", "minimum": 0},
}
HTTP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "responses": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["url"],
                "additionalProperties": False,
                "properties": {
                    "url": {"type": "string", "minLength": 1},
                    "method": {"type": "string"},
                    **_HTTP_RESPONSE,
                },
            },
        },
        "default": {"type": "object", "additionalProperties": False, "properties": _HTTP_RESPONSE},
        "allow_network": {"type": "array", "items": {"type": "string"}},
        "error_format": {"enum": ["status", "protocol.status"]},
    },
}


def parse_now(text: str, zone: _dt.tzinfo = _dt.UTC) -> _dt.datetime:
    """ISO 8601 date-time (``Z`` accepted) -> aware datetime (naive = wall time in `zone`)."""
    value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=zone)


def _check_http(http: Any, path: str) -> list[str]:
    problems = []
    for i, resp in enumerate(http.get("responses") or ()):
        url = resp["url"]
        if url.startswith("re:") and (why := regex_problem(url[3:])):
            problems.append(f"{path}.responses[{i}].url: {why}")
    return problems


def _check_time(time: Any, path: str) -> list[str]:
    """``time``: the start instant parses, every zone name is known."""
    problems = []
    zones = time.get("zones") or {}
    for name, value in zones.items():
        if isinstance(value, str) and timezones.resolve(value, zones) is None:
            problems.append(f"{path}.zones.{name}: unknown time zone {value!r}")
    zone = time.get("zone")
    if zone is not None and timezones.resolve(zone, zones) is None:
        problems.append(f"{path}.zone: unknown time zone {zone!r} (a Java-style id such as 'ECT', or 'Europe/Paris')")
    now = time.get("now")
    if now is not None:
        try:
            parse_now(now)
        except ValueError:
            problems.append(f"{path}.now: {now!r} is not an ISO 8601 date-time (e.g. 2026-01-05T10:00:00Z)")
    return problems


#: a date a special day covers: ``2026-12-25`` (the whole day) or ``2026-12-24 12:00-18:00``
SPECIAL_DATE_PATTERN = r"^\d{4}-\d\d-\d\d( \d\d:\d\d-\d\d:\d\d)?$"


#: the profile sections this module reads (``simulator/ors/fakes.py`` composes them)
FAKES = (
    FakesSection(
        "session",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "tenant": {"type": "string"},
                "tenantid": {"type": "integer"},
                "server": {"type": "object"},
                "url": {"type": "string"},
                "sessionid": {"type": "string"},
                "list_missing": {"enum": ["empty", "throw"]},
            },
        },
        {
            "tenant": "Environment",
            "tenantid": 101,
            "server": {"name": "ORS", "cluster": "ORS_Cluster", "url": "http://ors.example.invalid:7210"},
            "url": "http://ors.example.invalid:9098/",
            "sessionid": "",
            "list_missing": "empty",
        },
        js=True,
        doc="the ORS session object and what a missing Configuration Server list item gives",
    ),
    FakesSection(
        "lists",
        {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "object"}}},
        {},
        js=True,
        doc="Configuration Server lists: {list: {item: {key: value}}}",
    ),
    FakesSection(
        "options",
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        {},
        js=True,
        doc="getConfigOption values",
    ),
    FakesSection(
        "special_days",
        {
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"type": ["integer", "boolean"]},
                    {"type": "array", "items": {"type": "string", "pattern": SPECIAL_DATE_PATTERN}},
                ]
            },
        },
        {},
        js=True,
        doc="isSpecialDay answers: '<table>/<day>' or '<day>' -> 0/1, or the dates it covers "
        "('2026-12-25', '2026-12-24 12:00-18:00')",
    ),
    FakesSection(
        "time",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "now": {"type": "string", "description": "start instant (ISO 8601; without offset: local to `zone`)"},
                "zone": {"type": "string", "description": "the platform's local time zone (what `Date` shows)"},
                "zones": {
                    "type": "object",
                    "description": "added or overridden zone names: hours east of UTC, or another zone's name",
                    "additionalProperties": {"type": ["number", "string"]},
                },
            },
        },
        {"now": "2026-01-05T10:00:00Z", "zone": "UTC", "zones": {}},
        js=True,
        check=_check_time,
        doc="the wall clock at virtual time 0, the platform's time zone, added or overridden zone names",
    ),
    FakesSection(
        "http",
        HTTP_SCHEMA,
        {
            "responses": [],
            "default": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": "{}", "delay": 0.2},
            "allow_network": [],
            "error_format": "status",
        },
        check=_check_http,
        doc="canned answers of session:fetch",
    ),
)


def zone_now(env: FakeEnv, zone: Any) -> dict[str, Any] | None:
    """Date, time, weekday and offset in `zone` at the virtual clock's instant (see timezones.py);
    an empty or missing zone is the platform's local zone (``time.zone``). None when unknown."""
    time = env.fakes.time
    name = time["zone"] if zone is None or str(zone).strip() == "" else str(zone)
    tz = timezones.resolve(name, time["zones"])
    if tz is None:
        return None
    return timezones.local_fields(tz, env.fakes.time_base().epoch_ms(env.now))


def request_url(request: Request) -> str:
    """The URL of a fetch (``srcexpr`` or ``src``), with ``<param>`` values as a query for GET."""
    url = str(request.attributes.get("srcexpr") or request.attributes.get("src") or "")
    method = str(request.attributes.get("method") or "get").lower()
    params = {
        p["attributes"].get("name"): p["attributes"].get("expr")
        for p in find_children(request.children, "param")
        if p["attributes"].get("name")
    }
    if params and method == "get":
        url += ("&" if "?" in url else "?") + urlencode({k: "" if v is None else v for k, v in params.items()})
    return url


def _find_response(env: FakeEnv, url: str, method: str) -> dict[str, Any] | None:
    for resp in env.config("http")["responses"]:
        pattern = resp["url"]
        if resp.get("method") and resp["method"].lower() != method:
            continue
        if pattern.startswith("re:"):
            if re.search(pattern[3:], url):
                return resp
        elif url.startswith(pattern) or url.split("?")[0] == pattern:
            return resp
    return None


def fake_fetch(request: Request, env: FakeEnv) -> list[Emit]:
    """``session.fetch.done {content: <body text>, hints: <headers>}`` or ``error.session.fetch``.

    The response comes from the first ``http.responses`` entry whose ``url`` (prefix, or
    ``re:<regex>``) and ``method`` match, else ``http.default`` (200 ``{}``).  A status >= 400 or
    0 is an ``error.session.fetch`` whose ``error`` is the status (``http.<status>`` with
    ``error_format: protocol.status``).  No request ever reaches the network.
    """
    http = env.config("http")
    url = request_url(request)
    method = str(request.attributes.get("method") or "get").lower()
    resp = _find_response(env, url, method)
    if resp is None:
        if any(url.startswith(a) for a in http["allow_network"]):
            return [
                error_emit(
                    MODULE,
                    FETCH,
                    "0",
                    f"network access to {url} is allowed by the profile but not implemented by the simulator; "
                    "add an http.responses entry for it",
                    0.0,
                )
            ]
        resp = http["default"]
        answer = {k: resp[k] for k in ("status", "body") if k in resp}
        env.assume(
            "url",
            {"url": url, "method": method},
            answer,
            ["http", "responses"],
            {"url": url.split("?")[0], "method": method, **answer},
            append=True,
            request=request,
        )
    status = int(resp.get("status", 200))
    delay = float(resp.get("delay", http["default"].get("delay", 0.2)))
    body = resp.get("body", "")
    text = body if isinstance(body, str) else json.dumps(body)
    headers = dict(resp.get("headers") or {})
    if status == 0 or status >= 400:
        code = str(status) if http["error_format"] == "status" else f"http.{status}"
        description = f"HTTP {status} from {url}" if status else f"connection to {url} failed"
        emit = error_emit(MODULE, FETCH, code, description, delay)
        return [Emit(emit.name, {**emit.data, "content": text}, delay=delay, final=True)]
    expected = str(request.attributes.get("type") or "")
    if "json" in expected and method != "esp":
        try:
            json.loads(text)
        except ValueError:
            return [error_emit(MODULE, FETCH, "type", f"response of {url} is not {expected}", delay)]
    return [Emit("session.fetch.done", {"content": text, "hints": headers}, delay=delay, final=True)]


#: the URL forms each fetch method takes (spec 2.3: http(s) REST, ``urs/...`` URS functions, ``gesp:`` ESP)
_URL_FORMS = {"urs": ("urs/", "/urs/"), "esp": ("gesp:",)}


def refuse_fetch(request: Request) -> tuple[str, str] | None:
    """A fetch without a usable URL is refused whatever the fakes say (``error: 'invalidattribute'``)."""
    url = str(request.attributes.get("srcexpr") or request.attributes.get("src") or "").strip()
    method = str(request.attributes.get("method") or "get").lower()
    if not url:
        return "invalidattribute", "The attribute session:srcexpr has an invalid value (): no URL to fetch"
    if method in _URL_FORMS:
        if not any(form in url for form in _URL_FORMS[method]):
            return "invalidattribute", f"The attribute session:srcexpr has an invalid value ({url}) for method {method}"
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.hostname):
        return "invalidattribute", f"The attribute session:srcexpr has an invalid value ({url}): not an http(s) URL"
    return None


def fake_start(request: Request, env: FakeEnv) -> list[Emit]:
    """Start the document as a new session of the simulation; ``session.start.done {sessionid}``.

    The new session id is also written to the ``sessionid``/``idlocation`` location. A document
    that is not in the project answers ``error.session.start {error:'invalidsrc'}``.
    """
    src = str(request.attributes.get("srcexpr") or request.attributes.get("src") or "")
    params = {
        p["attributes"]["name"]: p["attributes"].get("expr")
        for p in find_children(request.children, "param")
        if p["attributes"].get("name")
    }
    try:
        sid = env.start_session(src, params)
    except LookupError as exc:
        emit = error_emit(MODULE, START, "invalidsrc", str(exc), 0.1)
        return [Emit(emit.name, {**emit.data, "sessionid": None}, emit.delay, final=True)]
    for key in ("sessionid", "idlocation"):
        if request.attributes.get(key):
            env.assign(request.attributes[key], sid)
    return [Emit("session.start.done", {"sessionid": sid}, delay=0.1, final=True)]


def fake_terminate(request: Request, env: FakeEnv) -> list[Emit]:
    """Stop the session; ``session.terminate.done {sessionid}`` or ``error.session.terminate``."""
    sid = str(request.attributes.get("sessionid"))
    if not env.session_running(sid):
        return [error_emit(MODULE, TERMINATE, "invalidsession", f"no running session {sid!r}", 0.1)]

    def stop(e: FakeEnv) -> None:  # when the answer is delivered: done.scxml.<name> follows it
        e.terminate_session(sid)

    return [Emit("session.terminate.done", {"sessionid": sid}, 0.1, final=True, effect=stop)]


def fake_updatestart(request: Request, env: FakeEnv) -> list[Emit]:
    """``session.updatestart.done {sessionid}``."""
    return [Emit("session.updatestart.done", {"sessionid": request.attributes.get("sessionid")}, 0.1, final=True)]


FETCH = Action(
    "fetch",
    attributes=(
        REQUESTID,
        Attr("srcexpr", type="string", doc="URL (http/https), urs/... or gesp:..."),
        Attr("src", kind="literal", doc="literal URL"),
        Attr("method", type="string", default="get", values=("get", "post", "put", "delete", "esp", "urs")),
        Attr("enctype", type="string", default="application/x-www-form-urlencoded"),
        Attr("type", type="string", doc="expected content type"),
        Attr("timeout", type="number"),
        Attr("maxage"),
        Attr("maxstale"),
        Attr("headers", type="object"),
        Attr("gdelivery", type="boolean", default=False),
        Attr("gd_retries"),
        Attr("gd_retry_interval"),
        Attr("namelist", kind="literal"),
        Attr("content"),
    ),
    children=(PARAM, CONTENT),
    events=("session.fetch.done", "error.session.fetch"),
    errors=("<status>", "0", "type", "timeout", "invalidattribute"),
    fake=fake_fetch,
    refuse=refuse_fetch,
    timeout=("timeout", 1.0),
    doc="HTTP/ESP/URS request; content comes back as a string",
)
START = Action(
    "start",
    attributes=(
        REQUESTID,
        Attr("src", kind="literal"),
        Attr("srcexpr", type="string"),
        Attr("sessionid", kind="location"),
        Attr("idlocation", kind="location"),
        Attr("idealtime"),
    ),
    children=(PARAM,),
    events=("session.start.done", "error.session.start"),
    fake=fake_start,
)
TERMINATE = Action(
    "terminate",
    attributes=(REQUESTID, Attr("sessionid", type="string")),
    events=("session.terminate.done", "error.session.terminate"),
    fake=fake_terminate,
)
UPDATESTART = Action(
    "updatestart",
    attributes=(REQUESTID, Attr("sessionid", type="string"), Attr("idealtime")),
    children=(PARAM,),
    events=("session.updatestart.done", "error.session.updatestart"),
    fake=fake_updatestart,
)

JS = r"""
(function (g) {
  var F = __orsFakes, S = F.session;
  function zoned(zone) {
    var z = (zone === undefined || zone === null) ? '' : String(zone),
        f = __orsCall('session.zone', JSON.stringify([z]));
    if (f === null || f === undefined) throw new Error('unknown time zone: ' + z);
    return f;
  }
  // a special day's date entry: '2026-12-25' (all day) or '2026-12-24 12:00-18:00'
  function covers(entry, now, useTime) {
    if (entry.slice(0, 10) !== now.date) return false;
    if (!useTime || entry.length <= 10) return true;
    var t = now.time.slice(0, 5);
    return t >= entry.slice(11, 16) && t < entry.slice(17, 22);
  }
  var s = {
    server: { name: S.server.name, cluster: S.server.cluster, url: S.server.url },
    tenant: S.tenant,
    tenantid: S.tenantid,
    lookupseq: { StartFromStrategy: -1, StartFromCDN: 0, StartFromRouter: 1, StartFromTenant: 2,
                 StartFromTserver: 3 },
    day: { Sunday: 0, Monday: 1, Tuesday: 2, Wednesday: 3, Thursday: 4, Friday: 5, Saturday: 6 },
    dateInZone: function (zone) { return zoned(zone).date; },
    timeInZone: function (zone) { return zoned(zone).time; },
    dayInZone: function (zone) { return zoned(zone).day; },
    isSpecialDay: function (table, day, zone, useTime) {
      var v = F.special_days[table + '/' + day];
      if (v === undefined) v = F.special_days[day];
      var now = zoned(zone);  // an unknown zone fails even when the day is not configured
      if (v === undefined) {
        return __orsAssume('special day', {table: String(table), day: String(day)}, 0,
                           ['special_days', table + '/' + day]);
      }
      if (!Array.isArray(v)) return v ? 1 : 0;
      for (var i = 0; i < v.length; i++) if (covers(v[i], now, useTime)) return 1;
      return 0;
    },
    getListItemValue: function (list, item, key) {
      var has = Object.prototype.hasOwnProperty, l = has.call(F.lists, list) ? F.lists[list] : undefined;
      var it = l !== undefined && has.call(l, item) ? l[item] : undefined;
      if (arguments.length < 3 || key === undefined) {
        if (it === undefined) {
          if (S.list_missing == 'throw') throw new Error('list item not found: ' + list + '/' + item);
          return __orsAssume('list item', {list: String(list), item: String(item)}, {},
                             ['lists', String(list), String(item)]);
        }
        return JSON.parse(JSON.stringify(it));
      }
      if (it === undefined || !has.call(it, key)) {
        if (S.list_missing == 'throw') throw new Error('list value not found: ' + list + '/' + item + '/' + key);
        return __orsAssume('list value', {list: String(list), item: String(item), key: String(key)}, '',
                           ['lists', String(list), String(item), String(key)]);
      }
      var v = it[key];
      return typeof v == 'string' ? v : JSON.stringify(v);
    },
    listLookupValue: function (list, value) {
      var l = F.lists[list];
      if (l === undefined || l === null) {
        return __orsAssume('list', {list: String(list), value: String(value)}, 0,
                           ['lists', String(list), String(value)], {});
      }
      return Object.prototype.hasOwnProperty.call(l, value) ? 1 : 0;
    },
    getConfigOption: function (ixnid, name, lookupseq) {
      var v = F.options[name];
      if (v === undefined) return __orsAssume('config option', {option: String(name)}, '', ['options', String(name)]);
      return String(v);
    },
    setTenant: function (name) { s.tenant = String(name); }
  };
  g.session = s;
})(_genesys);
"""

MODULE: Module = module(
    "session",
    actions=(FETCH, START, TERMINATE, UPDATESTART),
    events=(
        EventDecl("session.fetch.done", ("requestid", "content", "hints"), "content is the body as a string"),
        EventDecl("error.session.fetch", ("requestid", "error", "description")),
        EventDecl("session.start.done", ("requestid", "sessionid")),
        EventDecl("error.session.start", ("requestid", "sessionid", "error", "description")),
        EventDecl("session.terminate.done", ("requestid", "sessionid")),
        EventDecl("error.session.terminate", ("requestid", "error", "description")),
        EventDecl("session.updatestart.done", ("requestid", "sessionid")),
        EventDecl("error.session.updatestart", ("requestid", "error", "description")),
    ),
    js=JS,
    fakes=FAKES,
    rule_params=HTTP_SCHEMA,  # fetch answers read the http section
    js_members=(
        JSMember("server", "object", doc="{name, cluster, url}"),
        JSMember("tenant", "property"),
        JSMember("tenantid", "property"),
        JSMember(
            "lookupseq",
            "enum",
            members=("StartFromStrategy", "StartFromCDN", "StartFromRouter", "StartFromTenant", "StartFromTserver"),
        ),
        JSMember("day", "enum", members=("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")),
        JSMember("dateInZone", "function", "dateInZone(zone) -> 'YYYY-MM-DD'"),
        JSMember("timeInZone", "function", "timeInZone(zone) -> 'HH:MM:SS'"),
        JSMember("dayInZone", "function", "dayInZone(zone) -> 0 (Sunday) .. 6"),
        JSMember("isSpecialDay", "function", "isSpecialDay(table, day[, zone[, useTime]]) -> 0/1"),
        JSMember("getListItemValue", "function", "getListItemValue(list, item[, key]) -> string | object"),
        JSMember("listLookupValue", "function", "listLookupValue(list, value) -> 0/1"),
        JSMember("getConfigOption", "function", "getConfigOption(ixnid, option, lookupseq) -> string"),
        JSMember("setTenant", "function", "setTenant(name)"),
    ),
    doc="session: fetch/start/terminate and configuration lookups",
)
