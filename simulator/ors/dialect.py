"""The ORS profile: how Genesys Orchestration Server differs from W3C SCXML, through engine hooks.

Spec: ``spec/ors-core.md`` section 1 and ``spec/real-usage.md``.  Everything ORS-specific lives
here or in ``extensions/``; the engine only calls :class:`ORSProfile`'s hooks:

* **loading** - ``transform_include``: Composer's ``<xi:include parse="xml" resolveid="P">``
  rewrites every id of the fragment to ``P.<id>``, replaces ``$$_MY_PREFIX_$$`` in attribute
  values and script text, and turns ``_my_prefix`` (the executing fragment's resolveid) into the
  string literal ``'P'`` in expressions/scripts of the fragment; ``preprocess_script``: pre-ES6
  ``const`` (SpiderMonkey: like ``var``, re-declarable) becomes ``var``.
* **model build** - ``attribute_is_expression``: ``<send event|target|type|delay>`` and
  ``<cancel sendid>`` are expressions; ``raise_params``: ``<raise>`` carries ``<param>``;
  ``action_handlers``: one handler per extension namespace, validating elements against their
  declarations; ``history`` is not supported by ORS (definition error).
* **session** - ``install_globals``: ``_genesys`` (every module's JS surface), ``_data`` (an
  object whose properties alias the declared ``<data>`` variables), ``_my_prefix`` (``""`` outside
  includes), ``__Log``/``__Raise``/``__GetDocumentURL``/``__GetCurrentStates``, ``toSource``/
  ``uneval``; then the simulated platform (``platform.OrsPlatform``) starts the interaction.
* **execution** - ``error_event_name``: ``error.script.<JSErrorType>`` for script failures;
  ``cancel_events``: ``cancel.successful`` / ``error.notallowed`` after ``<cancel>``.
"""

from __future__ import annotations

import json
import re
import weakref
from functools import cache, lru_cache
from importlib import resources
from typing import Any, cast

from lxml import etree

from simulator.scxml.clock import TimeBase
from simulator.scxml.datamodel import ECMAScriptDataModel, SharedCode, later_globals
from simulator.scxml.profile import JSIntrinsics, Profile

from .evaluation import shape_of
from .extensions import MODULES, module_for_namespace
from .extensions.base import validate_element
from .fakes import load_fakes
from .platform import OrsPlatform, fakes_of, platform_of

PREFIX_TOKEN = "$$_MY_PREFIX_$$"
_SCXML_NS = "http://www.w3.org/2005/07/scxml"
_XI_NS = "http://www.w3.org/2001/XInclude"
#: attribute values of these (local) attributes hold ECMAScript (where `_my_prefix` is replaced)
_JS_ATTRIBUTES = {"expr", "cond", "event", "delay", "target", "sendid", "location", "_expr"}
#: elements whose `id` names a state (resolveid prefixes only those, not <data>/<send> ids)
_STATE_TAGS = {f"{{{_SCXML_NS}}}{t}" for t in ("state", "parallel", "final", "history", "initial")}
#: elements whose failing evaluation is their ``cond`` (error.illegalcond.<Type>)
_COND_ELEMENTS = frozenset({"transition", "if", "elseif"})
#: QuickJS's message for an unknown global read: "Map is not defined"
_NOT_DEFINED = re.compile(r"\b([A-Za-z_$][\w$]*) is not defined\b")
#: by package, not `__file__`: a module compiled by mypyc has no `__file__` while it initialises
_GENESYS_JS = resources.files("simulator.ors").joinpath("genesys.js").read_text(encoding="utf-8")
#: a JS token scanner: strings, comments, regex-free identifiers (enough to find keywords safely)
_JS_TOKENS = re.compile(
    r"""(?P<str>'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`)"""
    r"""|(?P<com>//[^\n]*|/\*.*?\*/)"""
    r"""|(?P<id>[A-Za-z_$][\w$]*)""",
    re.S,
)


def replace_identifier(source: str, name: str, replacement: str) -> str:
    """Replace the JS identifier `name` (not inside strings/comments, not after a dot) in `source`."""
    if name not in source:
        return source
    out: list[str] = []
    last = 0
    for m in _JS_TOKENS.finditer(source):
        if m.lastgroup != "id" or m.group() != name:
            continue
        before = source[: m.start()].rstrip()
        if before.endswith("."):
            continue  # a property: obj._my_prefix
        out.append(source[last : m.start()])
        out.append(replacement)
        last = m.end()
    out.append(source[last:])
    return "".join(out)


@lru_cache(maxsize=4096)
def rewrite_const(source: str) -> str:
    """SpiderMonkey's pre-ES6 ``const`` behaves like ``var`` (re-declarable): rewrite it.

    Memoised process-wide: every session preprocesses the same include libraries.
    """
    if "const" not in source:
        return source
    return replace_identifier(source, "const", "var")


_LEADING_LABEL = re.compile(r"^\s*[A-Za-z_$][\w$]*\s*:(?!:|/|\s*(?:for|while|do)\b|\s*\{)\s*")


@lru_cache(maxsize=4096)
def strip_leading_label(source: str) -> str:
    """Drop a statement label at the start of `source` (``a: expr`` -> ``expr``), loops excepted."""
    match = _LEADING_LABEL.match(source)
    if match is None or "?" in source[: match.end()]:
        return source
    return source[match.end() :]


#: per document (the engine's model, weakly): the program `datamodel_initialized` runs, the same
#: text for every session of it ("" for none; making it was ~10 us of Python a session)
_DATA_PROGRAMS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


class OrsActionHandler:
    """Validates and executes the action elements of one extension module."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def validate(self, element: etree._Element) -> list[tuple[int, str]]:
        """Definition-time problems per the module's declarations."""
        return validate_element(self.module, element)

    def execute(self, ctx: Any, element: Any) -> None:
        """Turn the element into a request answered by the fakes (see platform.execute_action)."""
        platform = platform_of(ctx.session)
        if platform is None:  # a session started without install_globals (should not happen)
            ctx.fail(f"<{self.module.name}:{element.localname}> needs the ORS platform")
            return
        if element.prepared is None:  # the node is the document's: read its element once
            element.prepared = shape_of(element.element)
        platform.execute_action(ctx, self.module, element.element, element.file, element.line, element.prepared)


@cache
def _handlers() -> dict[str, OrsActionHandler]:
    handlers: dict[str, OrsActionHandler] = {}
    for module in MODULES:
        handler = OrsActionHandler(module)
        for ns in module.namespaces:
            handlers[ns] = handler
    return handlers


@cache
def surfaces_js() -> str:
    """The constant JS installed in every ORS session: environment + every module surface."""
    return "\n".join([_GENESYS_JS, *(m.js for m in MODULES if m.js)])


#: the fakes a session-less question (time_base() without a session) is answered from
_DEFAULT_FAKES = load_fakes(None)


class ORSProfile(Profile):
    """The ``ors`` profile (stateless: a run's fakes belong to its session group, ``use_fakes``)."""

    name = "ors"
    raise_params = True
    #: the 2009 draft ORS follows: <raise> carries <param>s, a document has several <script>s
    extra_children = {"raise": {"param": (0, None)}, "scxml": {"script": (0, None)}}
    #: ORS 8.1 does not support <history> (Technical Reference element matrix)
    unsupported_elements = frozenset({"history"})

    def __init__(self, document_url: str | None = None) -> None:
        #: the URL __GetDocumentURL() answers (default: ``http://orchweb.invalid/<entry>``); the
        #: dialect holds no per-run state: a run's fakes belong to its session group (use_fakes)
        self.document_url = document_url

    @property
    def action_handlers(self) -> dict[str, OrsActionHandler]:  # type: ignore[override]
        """One handler per extension namespace (every accepted spelling)."""
        return _handlers()

    # -- loading ------------------------------------------------------------------------------

    def attribute_is_expression(self, tag: str, attribute: str) -> bool:
        """ORS (2009 draft): send event/target/type/delay and cancel sendid are expressions."""
        if tag == "send" and attribute in {"event", "target", "type", "delay"}:
            return True
        if tag == "cancel" and attribute == "sendid":
            return True
        return super().attribute_is_expression(tag, attribute)

    def transform_include(self, include: etree._Element, fragment: etree._Element) -> etree._Element:
        """Composer's resolveid prefixing and ``$$_MY_PREFIX_$$`` / ``_my_prefix`` substitution."""
        prefix = include.get("resolveid")
        if not prefix:
            return fragment
        literal = json.dumps(prefix).replace('"', "'") if "'" not in prefix else json.dumps(prefix)
        for el in fragment.iter():
            if not isinstance(el.tag, str):
                continue
            for key, value in el.attrib.items():
                new = value.replace(PREFIX_TOKEN, prefix) if PREFIX_TOKEN in value else value
                local = etree.QName(key).localname
                if local == "id" and etree.QName(key).namespace is None and el.tag in _STATE_TAGS:
                    new = f"{prefix}.{new}"
                elif local in _JS_ATTRIBUTES or (
                    el.tag.startswith("{http") and module_for_namespace(etree.QName(el).namespace) is not None
                ):
                    new = replace_identifier(new, "_my_prefix", literal)
                if new != value:
                    el.set(key, new)
            if el.tag == f"{{{_SCXML_NS}}}script":  # its text, and text after XML comments inside it
                if el.text:
                    el.text = replace_identifier(el.text.replace(PREFIX_TOKEN, prefix), "_my_prefix", literal)
                for child in el:
                    if child.tail:
                        child.tail = replace_identifier(child.tail.replace(PREFIX_TOKEN, prefix), "_my_prefix", literal)
        return fragment

    def preprocess_script(self, source: str) -> str:
        """Rewrites SpiderMonkey-only syntax Composer code relies on.

        Pre-ES6 ``const`` becomes ``var``; a leading statement label (``expr="caller_id: x.y"``,
        which ORS evaluates as a program whose completion value is ``x.y``) is dropped.
        """
        return rewrite_const(strip_leading_label(source))

    # -- session ------------------------------------------------------------------------------

    def time_base(self, session: Any = None) -> TimeBase:
        """``Date`` shows the run's fakes profile's ``time.now`` (at virtual time 0) in ``time.zone``."""
        return (fakes_of(session.group) if session is not None else _DEFAULT_FAKES).time_base()

    def js_intrinsics(self, session: Any) -> JSIntrinsics:
        """The ``javascript`` setting of the run's fakes profile: "es5" by default (unverified:
        ORS's SpiderMonkey-based engine with Composer's stated ES5 support, docs/fakes.md)."""
        return cast(
            JSIntrinsics, (fakes_of(session.group) if session is not None else _DEFAULT_FAKES).data["javascript"]
        )

    def execution_failed(self, session: Any, js_error: str | None, message: str) -> None:
        """A global the ``es5`` setting leaves out (``Map is not defined``) is an assumption of the
        simulation, not a fact about the strategy: the "Assumed data" panel offers ``modern``."""
        if js_error != "ReferenceError" or (platform := platform_of(session)) is None:
            return
        found = _NOT_DEFINED.search(message)
        if found is None or found[1] not in later_globals() or self.js_intrinsics(session) != "es5":
            return
        asked = {"global": found[1]}
        platform.assume("javascript global", asked, "not defined (es5 built-ins)", ["javascript"], "modern")

    def install_globals(self, session: Any) -> None:
        """``_genesys``, ``_data``, ``_my_prefix``, ORS globals; then start the fake platform."""
        dm = session.datamodel
        if isinstance(dm, ECMAScriptDataModel):
            dm.share_code(SharedCode.of(session.model))  # compile each expression once per process
        url = self.document_url or f"http://orchweb.invalid/{session.model.entry}"
        fakes = fakes_of(session.group)
        platform = OrsPlatform(session, fakes, url)
        data = fakes.js_data()
        data["document_url"] = url
        dm.declare_value("__orsFakes", data)
        dm.define_function("__orsCall", platform.js_call, native_args=True)  # JSON text in
        dm.define_function("__orsLog", platform.bridge.js_log, native_args=True)  # __Log's text
        dm.execute_host(surfaces_js())  # host functions: String(fn) shows native code, as on ORS
        dm.execute_host("var _my_prefix = ''; var _data = {};")  # ours too: parsed once per process
        dm.hide_globals(["__orsFakes", "__orsCall", "__orsLog", "_genesys", "_data", "_my_prefix"])
        platform.start()

    def release_state(self, session: Any) -> None:
        """The session's platform, disposed of (its parts refer back to it), then dropped."""
        platform = platform_of(session)
        if platform is not None:
            platform.dispose()
        super().release_state(session)

    def datamodel_initialized(self, session: Any) -> None:
        """``_data``: every declared ``<data>`` item as a property of one object.

        The object holds the items' initial values and is independent of the same-named global
        afterwards: in ORS a script ``var system = ...`` binds in its state's scope and does not
        replace ``_data.system`` (Composer's IPD relies on it: ``_data.system.context = system``).
        """
        model = session.model
        program = _DATA_PROGRAMS.get(model)
        if program is None:
            ids = sorted({d.id for d in model.all_data if d.id})
            program = _DATA_PROGRAMS[model] = (
                "(function (ids, g) { for (var i = 0; i < ids.length; i++) _data[ids[i]] = g[ids[i]]; })"
                f"({json.dumps(ids)}, globalThis);"
                if ids
                else ""
            )
        if program:
            session.datamodel.execute(program)

    def external_event_taken(self, session: Any, event: Any) -> None:
        """The object model changes as a result of events: apply what the event reports now."""
        platform = platform_of(session)
        if platform is not None:
            platform.external_event_taken(event)

    def send_target(self, target: str) -> str:
        """ORS (2009 draft) targets: ``_internal`` / ``_parent`` / a bare session id."""
        if target in ("_internal", "_parent"):
            return "#" + target
        return target

    def log_fields(self, element: etree._Element) -> dict[str, Any]:
        """``<log level>``: 1 reporting, 2 error, 3 warning, 4 debug (kept as written if not a number)."""
        level = element.get("level")
        if level is None:
            return {}
        return {"level": int(level) if level.strip().isdigit() else level}

    def error_event_name(self, kind: str, js_error: str | None = None, element: str | None = None) -> str:
        """``error.illegalcond.<Type>`` when a ``cond`` fails (``<transition>``, ``<if>``/``<elseif>``),
        ``error.script.<Type>`` for other JS failures (ors-core.md 1.12; Composer catches the
        ``error`` prefix)."""
        if js_error and element in _COND_ELEMENTS:
            return f"error.illegalcond.{js_error}"
        if js_error:
            return f"error.script.{js_error}"
        if kind == "communication":
            return "error.send.failed"
        return f"error.{kind}"

    def error_event_data(self, data: dict[str, Any], element: str | None) -> dict[str, Any]:
        """ORS error fields (ors-core.md 1.12): ``document``, ``element``, ``linenumber`` and
        ``description`` (the message; Composer's ``system.LastErrorDescription`` reads it)."""
        return {
            **data,
            "document": data.get("file"),
            "element": element,
            "linenumber": data.get("line"),
            "description": data.get("message"),
        }

    def cancel_events(self, sendid: str, cancelled: bool) -> list[tuple[str, dict[str, Any]]]:
        """ORS answers ``<cancel>``: ``cancel.successful`` or ``error.notallowed`` (data: sendid)."""
        return [("cancel.successful" if cancelled else "error.notallowed", {"sendid": sendid})]


#: the ORS profile (stateless: every run, graph and lint use it)
ORS = ORSProfile()
