"""The sandboxed ECMAScript datamodel (W3C SCXML B.2) on quickjs-ng.

One `ECMAScriptDataModel` per SCXML session. Each owns an `orchweb_quickjs.Context` (our binding,
native/quickjs): its own global object, prototypes and realm, so sessions never see each other's
globals or prototypes. The context lives in a `JSRuntime` (heap, garbage collector, memory and
stack limit) of its own, or, for the sessions of one user's work (a `SessionGroup`, a batch), in a
runtime of a `RuntimePool` that up to `MAX_SESSIONS_PER_RUNTIME` of them share, under one lock.
Design notes (see ../shared/research/js-engines.md and docs/performance.md):

* **Deadline.** Each context has a wall-clock deadline (`Context.deadline`, a `time.monotonic()`
  value) set per evaluation; the binding's interrupt handler compares it with the clock for the
  context whose JS runs (so a shared runtime keeps per-session deadlines). QuickJS polls the
  handler every ~10k bytecode operations, so tiny expressions pay nothing. An import-time
  self-test fails loudly if a runaway loop is not interrupted.
* **Operation budget.** `operation_budget(seconds)` caps every evaluation the current thread
  starts inside it at one shared deadline (the caller's total time for an operation made of many
  evaluations); an evaluation still running when it passes is interrupted like one that exceeds
  its own time limit, with a message naming the budget.
* **Compile once.** Every cond/expr/assign is compiled once per session into a JS function and
  then just called (0.2 µs instead of 5 µs for `eval`). Compiled functions are created by a
  private factory so they reach the helper object `H` through a closure: the document cannot see
  or tamper with the helpers. Sessions of one document can share compiling (`SharedCode`): a
  later session loads every function earlier ones compiled as one bytecode bundle. Our own JS
  (_CORE, _EXTRAS, _XML_DOM) and repeated scripts also load as bytecode compiled once per
  process (`jsbytecode`); parsing was most of the cost of a short session.
* **Values cross as JSON.** Numbers, booleans and strings cross natively; anything else is encoded
  with one `JSON.stringify` call (cycles, BigInt, ... fall back to a tolerant encoder) and decoded
  with `json.loads`. `undefined` becomes the `UNDEFINED` sentinel.
* **Python callbacks** (`define_function`) are JSON-string bridges: a Python exception never
  escapes into the binding (that would surface as an uncatchable SystemError); it is rethrown in
  JS as an ordinary, catchable Error.
* **System variables** (`_event`, `_sessionid`, `_name`, `_ioprocessors`, `_x`, ...) are
  non-configurable accessors on the global object whose setter throws a TypeError, so an
  assignment from the document fails (and the engine turns it into `error.execution`).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import itertools
import json
import math
import re
import struct
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any, ClassVar, Final, Self, final

import orchweb_quickjs
import orjson
from lxml import etree
from mypy_extensions import mypyc_attr

from . import jsbytecode
from .clock import ZoneRules
from .profile import JSIntrinsics

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_STACK_SIZE",
    "DEFAULT_TIME_LIMIT",
    "SYSTEM_VARIABLES",
    "UNDEFINED",
    "ECMAScriptDataModel",
    "JSError",
    "SharedCode",
    "XMLValue",
    "check_syntax",
    "operation_budget",
]

DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
DEFAULT_TIME_LIMIT = 1.0
DEFAULT_STACK_SIZE = 256 * 1024
#: W3C system variables (5.10); read-only for the document.
SYSTEM_VARIABLES = ("_event", "_sessionid", "_name", "_ioprocessors", "_x")
#: Beyond this many distinct sources the compile cache is dropped (bounds memory when a client
#: evaluates generated text, e.g. an inspector console).
_CACHE_LIMIT = 20_000
#: scripts at least this long run from process-wide compiled bytecode (see jsbytecode.py) once
#: the process has seen them before (a one-off text, e.g. code carrying data, is just evaluated);
#: from _BYTECODE_ALWAYS_CHARS on, always (libraries)
_BYTECODE_MIN_CHARS = 256
_BYTECODE_ALWAYS_CHARS = 4096
#: texts of scripts run so far (bounded): which ones repeat
_seen_scripts: dict[str, None] = {}
_SEEN_LIMIT = 4096
#: locations up to this long are syntax-checked once per process (longer: in the session's limits)
_SHARED_CHECK_MAX_CHARS = 2048
#: a SharedCode keeps at most this many functions (beyond: sessions compile the rest themselves)
_SHARED_LIMIT = 2048


class _Undefined:
    """The JavaScript `undefined` value on the Python side (distinct from `None` = `null`)."""

    _instance: ClassVar[_Undefined | None] = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()


class JSError(Exception):
    """A failed evaluation: `name` is the JS error type, `line` the 1-based line in the source.

    `name` is e.g. `TypeError`, `ReferenceError`, `SyntaxError`, `RangeError`, or `InternalError`
    when the evaluation was interrupted at its deadline or ran out of memory (`message` then says
    which limit was exceeded). A thrown non-Error value (`throw 5`) gives name `Error`.
    """

    def __init__(self, name: str, message: str, line: int | None = None, source: str | None = None):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.line = line
        #: the JS filename `line` is in: "<input>" (the evaluated text), or a script's name
        #: given to `execute` (the failing statement may be in a function another script defined)
        self.source = source

    def __repr__(self) -> str:
        return f"JSError({self.name!r}, {self.message!r}, {self.line!r})"


class XMLValue:
    """XML that becomes a DOM-like node in JS (W3C B.2: `<data>`/`<content>` holding XML).

    `source` is XML text (parsed without DTDs, entities or network) or lxml element(s). In JS the
    value is a document (one root element: `documentElement`, `getElementsByTagName`, ...) or a
    fragment; it converts back to Python as its XML text.
    """

    __slots__ = ("tree",)

    def __init__(self, source: str | bytes | Any):
        if isinstance(source, (str, bytes)):
            nodes = _parse_xml(source.encode() if isinstance(source, str) else source)
        elif isinstance(source, etree._Element):
            nodes = [source]
        else:
            nodes = list(source)
        self.tree = [_xml_tree(n) for n in nodes if n is not None]

    def __repr__(self) -> str:
        return f"XMLValue({self.tree!r})"


def _parse_xml(text: bytes) -> list[Any]:
    """Top-level nodes of an XML document or fragment; hardened: no DTD, entities or network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    if text.lstrip().startswith((b"<?xml", b"<!DOCTYPE")):
        try:
            return [etree.fromstring(text, parser)]
        except etree.XMLSyntaxError as exc:
            raise JSError("SyntaxError", f"invalid XML: {exc}") from None
    try:  # a fragment: any number of elements and text
        root = etree.fromstring(b"<fragment>" + text + b"</fragment>", parser)
    except etree.XMLSyntaxError as exc:
        raise JSError("SyntaxError", f"invalid XML: {exc}") from None
    nodes: list[Any] = [root.text] if root.text else []
    for child in root:
        nodes.append(child)
        if child.tail:
            nodes.append(child.tail)
    return nodes


def _xml_tree(node: Any) -> list:
    """lxml node (or text) -> the JSON tree the JS DOM builder reads (recursion: as deep as the
    tree, at most libxml2's 256 levels without `huge_tree`)."""
    if isinstance(node, str):
        return ["t", node]
    if isinstance(node, etree._Comment):
        return ["c", node.text or ""]
    if not isinstance(node.tag, str):  # processing instruction, entity: not represented
        return ["t", ""]
    q = etree.QName(node)
    qname = f"{node.prefix}:{q.localname}" if node.prefix else q.localname
    attrs = [[etree.QName(k).localname, v] for k, v in node.attrib.items()]
    children: list = [["t", node.text]] if node.text else []
    for child in node:
        children.append(_xml_tree(child))
        if child.tail:
            children.append(["t", child.tail])
    return ["e", qname, q.localname, q.namespace, attrs, children]


# --------------------------------------------------------------------------------------------
# Runtimes (heap, limits, GC) and the per-evaluation wall-clock deadline.

#: heap size of a session's runtime before its first cycle collection (QuickJS: 256 KiB). A
#: session loading ~100 KB of library scripts crosses 256 KiB on the way, where a collection finds
#: almost nothing (~2 KB) but walks the whole heap: -3% instructions (docs/performance.md)
_GC_THRESHOLD = 512 * 1024
#: sessions sharing one runtime at most (RuntimePool). Closing a session collects the runtime's
#: cycles, which walks every live session's heap (~0.1 ms each for a Composer session), and one
#: session may take its siblings' budget: 16 keeps both small while the runtime's fixed cost
#: (~100 KB and ~1.9 M instructions) is already spread thin (docs/performance.md)
MAX_SESSIONS_PER_RUNTIME = 16
_monotonic: Final = time.monotonic  # Final: a compiled module reads it without a dict lookup
#: the operation budget of this thread (`operation_budget`): .deadline and .seconds, when set
_budget: Final = threading.local()
#: [threads inside `operation_budget` now]: a Final list, which `_run` reads without the module
#: dict lookup a reassigned global costs on each JS call
_budget_users: Final = [0]
_budget_lock = threading.Lock()


@contextlib.contextmanager
def operation_budget(seconds: float) -> Iterator[float]:
    """Cap every JS evaluation this thread starts inside the block at `seconds` from now in total
    (yields the deadline, a `time.monotonic()` value). Nested blocks keep the earlier deadline."""
    outer = getattr(_budget, "deadline", None)
    deadline = _monotonic() + float(seconds)
    if outer is not None and outer <= deadline:
        yield outer
        return
    _budget.deadline, _budget.seconds = deadline, float(seconds)
    with _budget_lock:
        _budget_users[0] += 1
    try:
        yield deadline
    finally:
        _budget.deadline = outer
        with _budget_lock:
            _budget_users[0] -= 1


@mypyc_attr(native_class=False)
class _Owner:
    """What a `RuntimePool` holds a weak reference to for a datamodel: only the datamodel holds
    it, so it is collected with it (compiled classes take no weak references)."""


class _SharedRuntime:
    """One JSRuntime of a `RuntimePool` and the sessions (contexts) in it.

    `lock` serialises every use of the runtime (a JSRuntime is never used by two threads at once):
    each datamodel in it runs its JS under this one lock. The memory limit is the sum of its live
    sessions' limits; `sessions` counts live and reserved places.
    """

    def __init__(self, stack_size: int):
        self.runtime = orchweb_quickjs.Runtime()
        self.runtime.set_max_stack_size(stack_size)
        self.runtime.gc_threshold = _GC_THRESHOLD
        self.stack_size = stack_size
        self.lock = orchweb_quickjs.Lock()  # an RLock whose acquire() parses no arguments (`_run`)
        #: its methods bound once for the runtime's sessions (`_run` calls them: no lookup by name)
        self.acquire: Callable[[], object] = self.lock.acquire
        self.release: Callable[[], object] = self.lock.release
        self.sessions = 0
        self.limit = 0
        #: limits of sessions collected without close(), not yet taken off `limit`
        self.dropped = 0


@mypyc_attr(native_class=False)  # a subclass of a builtin type
class _OwnerRef(weakref.ref):
    """A weak reference to a session of a `RuntimePool`, with what its collection without close()
    gives back: its place in `shared` and its share `limit` of the runtime's limit (slots, not a
    closure per session: ~300 bytes less per idle session)."""

    __slots__ = ("key", "limit", "shared")
    key: int
    limit: int
    shared: _SharedRuntime


class RuntimePool:
    """The JS runtimes shared by the sessions of one user's work: one `SessionGroup` (a simulation's
    root session and the sessions it invokes), every run of one live simulation (its restarts and
    rewinds: `SimulationRuntime`), or every interaction of one batch chunk.

    A new session gets its own context (globals, prototypes, realm) in a runtime of the pool with
    room (at most `max_sessions` sessions each, same stack size), created when none has any. Its
    memory limit joins the runtime's, which is the sum of its sessions' limits: the pool's bound
    stays the sum of its sessions' limits, but one session may use what its siblings leave (and
    make them fail when it fills the runtime). When a session closes, its context is freed, a
    cycle collection returns its memory and the runtime's limit shrinks by its share. An empty
    runtime is kept for the next session (creating a runtime is ~half the cost of a session).
    Never share a pool between users.
    """

    def __init__(self, max_sessions: int = MAX_SESSIONS_PER_RUNTIME):
        self.max_sessions = max(1, int(max_sessions))
        self._runtimes: list[_SharedRuntime] = []
        self._lock = threading.Lock()
        #: id(owner) -> weak reference, for the sessions not closed yet
        self._owners: dict[int, _OwnerRef] = {}
        #: owners collected without close() (appended by weakref callbacks, which take no lock)
        self._dropped: deque[_OwnerRef] = deque()
        self._drop = self._dropped.append  # the callback of every owner's reference

    def __len__(self) -> int:
        """Runtimes in the pool (empty ones included)."""
        return len(self._runtimes)

    def heap_bytes(self) -> int:
        """Bytes allocated by all runtimes of the pool (for benches and diagnostics)."""
        total = 0
        for shared in list(self._runtimes):
            with shared.lock:
                total += shared.runtime.memory()["malloc_size"]
        return total

    def _reserve(self, stack_size: int) -> _SharedRuntime:
        with self._lock:
            while self._dropped:  # free their places; their limits go when their runtime is next used
                ref = self._dropped.popleft()
                if self._owners.get(ref.key) is ref:
                    del self._owners[ref.key]
                    ref.shared.sessions -= 1
                    ref.shared.dropped += ref.limit
            shared = next(
                (r for r in self._runtimes if r.stack_size == stack_size and r.sessions < self.max_sessions),
                None,
            )
            if shared is None:
                shared = _SharedRuntime(stack_size)
                self._runtimes.append(shared)
            shared.sessions += 1
            return shared

    def _unreserve(self, shared: _SharedRuntime) -> None:
        with self._lock:
            shared.sessions -= 1

    def new_context(
        self, owner: object, memory_limit: int, stack_size: int, intrinsics: JSIntrinsics = "modern"
    ) -> tuple[orchweb_quickjs.Context, _SharedRuntime]:
        """A fresh context for `owner` (which must `release` it) in a runtime with room, whose
        limit grows by `memory_limit`, with the built-ins `intrinsics` names. An owner collected
        without releasing gives its place and limit back later (its context was freed with it;
        the runtime's next use collects)."""
        shared = self._reserve(stack_size)
        try:
            with shared.lock:
                with self._lock:
                    dropped, shared.dropped = shared.dropped, 0
                if dropped:
                    shared.runtime.gc()
                    shared.limit -= dropped
                shared.limit += memory_limit
                try:
                    shared.runtime.set_memory_limit(shared.limit)
                    if shared.sessions > 1:
                        # Each session brings the first-collection allowance it would have had in
                        # a runtime of its own: a runtime filling up with sessions (which leave
                        # little cyclic garbage) would otherwise collect every 1.5x of its heap.
                        shared.runtime.gc_threshold += _GC_THRESHOLD
                    ctx = orchweb_quickjs.Context(shared.runtime, intrinsics)
                    ref = _OwnerRef(owner, self._drop)
                    ref.key, ref.shared, ref.limit = id(owner), shared, memory_limit
                    with self._lock:
                        self._owners[ref.key] = ref
                    return ctx, shared
                except BaseException:
                    shared.limit -= memory_limit
                    shared.runtime.set_memory_limit(max(shared.limit, 1))
                    raise
        except BaseException:
            self._unreserve(shared)
            raise

    def release(self, owner: object, shared: _SharedRuntime, memory_limit: int) -> None:
        """After `owner` closed its context in `shared` (with `shared.lock` held): collect what it
        left and take its share off the runtime's limit."""
        with self._lock:
            self._owners.pop(id(owner), None)
        shared.runtime.gc()
        shared.limit -= memory_limit
        shared.runtime.set_memory_limit(max(shared.limit, 1))
        shared.runtime.gc_threshold = max(shared.runtime.gc_threshold - _GC_THRESHOLD, _GC_THRESHOLD)
        self._unreserve(shared)


def _new_context(memory_limit: int, stack_size: int, intrinsics: JSIntrinsics = "modern") -> orchweb_quickjs.Context:
    """A fresh context in a runtime of its own, with its limits and built-ins (`JSIntrinsics`)."""
    ctx = orchweb_quickjs.Context(intrinsics=intrinsics)
    ctx.set_memory_limit(int(memory_limit))
    ctx.set_max_stack_size(int(stack_size))
    ctx.runtime.gc_threshold = _GC_THRESHOLD
    return ctx


@lru_cache(maxsize=1)
def later_globals() -> frozenset[str]:
    """The global names a "modern" context has and an "es5" one lacks (`Map`, `Promise`, ...):
    read off the two kinds of context, so the list is QuickJS's own, never a copy to keep up."""

    def names(intrinsics: JSIntrinsics) -> set[str]:
        ctx = _new_context(8 * 1024 * 1024, DEFAULT_STACK_SIZE, intrinsics)
        try:
            return set(json.loads(ctx.eval("JSON.stringify(Object.getOwnPropertyNames(globalThis))")))
        finally:
            ctx.close()

    return frozenset(names("modern") - names("es5"))


def _self_test() -> None:
    """Fail loudly at import if the deadline does not stop a runaway loop."""
    ctx = _new_context(8 * 1024 * 1024, DEFAULT_STACK_SIZE)
    ctx.deadline = _monotonic() + 0.005
    try:
        ctx.eval("for (;;) {}")
    except orchweb_quickjs.JSException as exc:
        if "interrupted" not in str(exc):
            raise RuntimeError(f"orchweb_quickjs deadline self-test failed: {exc}") from None
    else:  # pragma: no cover - only if the binding changed under us
        raise RuntimeError("orchweb_quickjs deadline self-test failed: the loop was not interrupted")


_self_test()


# --------------------------------------------------------------------------------------------
# JS side. _CORE runs in every new context and returns a picker for the private helpers (never
# stored in a global). Rarely needed helpers live in _EXTRAS, compiled on first use, because
# parsing is most of the cost of a new session.

_CORE = r"""
(function (G) {
  'use strict';
  var stringify = JSON.stringify, parse = JSON.parse, defineProperty = Object.defineProperty,
      keys = Object.keys, freeze = Object.freeze, isArray = Array.isArray, StringCtor = String;
  var getEvent = G.__orchweb_event;  // the binding's getter of `_event` (Context.add_event_getter)
  delete G.__orchweb_event;
  // hidden: no prototype, so only the names put there count (also for the binding's record).
  // BASELINE: the enumerable globals of a fresh context of this kind (`_core`)
  var sys = {}, hidden = Object.create(null), i, baseline = BASELINE;
  for (i = 0; i < baseline.length; i++) hidden[baseline[i]] = true;

  // Tolerant encoder for what JSON.stringify refuses (cycles, BigInt): cycles become "[Circular]".
  function __orchweb_tolerant(v, stack) {
    switch (typeof v) {
      case 'undefined': case 'function': case 'symbol': return undefined;
      case 'bigint': return (v <= 9007199254740991n && v >= -9007199254740991n) ? Number(v) : StringCtor(v);
      case 'number': return isFinite(v) ? v : null;
      case 'string': case 'boolean': return v;
    }
    if (v === null) return null;
    if (typeof v.toJSON === 'function') {
      v = v.toJSON();
      if (typeof v !== 'object' || v === null) return __orchweb_tolerant(v, stack);
    }
    // Plain loops and index writes: the document may have replaced Array.prototype methods.
    for (j = 0; j < stack.length; j++) if (stack[j] === v) return '[Circular]';
    stack[stack.length] = v;
    var out, j, e, ks;
    if (isArray(v)) {
      out = [];
      for (j = 0; j < v.length; j++) { e = __orchweb_tolerant(v[j], stack); out[j] = e === undefined ? null : e; }
    } else {
      out = {};
      ks = keys(v);
      for (j = 0; j < ks.length; j++) { e = __orchweb_tolerant(v[ks[j]], stack); if (e !== undefined) out[ks[j]] = e; }
    }
    stack.length--;
    return out;
  }
  function __orchweb_json(v) {
    try { return stringify(v); } catch (err) {
      if (err instanceof RangeError || err instanceof TypeError) return stringify(__orchweb_tolerant(v, []));
      throw err;
    }
  }
  // The binding's record (Context.record_changes) stringifies each variable itself and calls these
  // only when that throws: what __orchweb_json then does, and the text of a variable that threw.
  function jsonRetry(err, v) {
    if (err instanceof RangeError || err instanceof TypeError) return stringify(__orchweb_tolerant(v, []));
    throw err;
  }
  function errorText(err) { return stringify('<' + StringCtor(err) + '>'); }
  // Value -> Python: numbers/booleans/strings/null natively (a returned string keeps its NULs in
  // the binding), the rest as '\x01'-tagged text.
  function __orchweb_out(v) {
    switch (typeof v) {
      case 'number': case 'boolean': return v;
      case 'string': return (v.length && v.charCodeAt(0) === 1) ? '\x01s' + v : v;
      case 'undefined': return '\x01u';
      case 'function': case 'symbol': return '\x01j' + stringify(StringCtor(v));
      case 'bigint': return '\x01j' + stringify(__orchweb_tolerant(v, []));
    }
    if (v === null) return null;
    var text = __orchweb_json(v);
    return text === undefined ? '\x01u' : '\x01j' + text;
  }
  // Python -> value: kind 0 = native primitive, 1 = JSON text, 2 = undefined, 3 = XML tree (JSON).
  function __orchweb_dec(kind, v) {
    return kind === 0 ? v : kind === 1 ? parse(v) : kind === 2 ? undefined : P.xml(parse(v));
  }

  function readonly(name) {
    return function __orchweb_readonly() { throw new TypeError(name + ' is a read-only system variable'); };
  }
  // Each (name, kind, value) triple of its arguments, in order (a session's start passes its
  // four at once). `let name`: each getter closes over its own name.
  function defineSystem() {
    for (var a = arguments, n = 0; n < a.length; n += 3) {
      let name = a[n];
      if (!(name in sys)) {
        defineProperty(G, name, {get: function () { return sys[name]; }, set: readonly(name),
                                 enumerable: false, configurable: false});
        hidden[name] = true;
      }
      sys[name] = __orchweb_dec(a[n + 1], a[n + 2]);
    }
  }
  // `_event`: the binding builds the frozen object in C on its first read after
  // Context.set_event (every read of one event sees the same object, an unread one is never built).
  defineProperty(G, '_event', {get: getEvent, set: readonly('_event'), enumerable: false, configurable: false});
  hidden._event = sys._event = true;

  // H is reachable from compiled expressions through their closure, so it is frozen.
  var H = freeze({out: __orchweb_out, dec: __orchweb_dec, geval: eval,  // geval(src): indirect = global eval
                  declareVar: declareVar, declareNew: declareNew});
  var P = {G: G, json: __orchweb_json, stringify: stringify, parse: parse, keys: keys, defineProperty: defineProperty,
           String: StringCtor, Function: Function, apply: Reflect.apply, hidden: hidden,
           getterOf: Function.prototype.call.bind(Object.prototype.__lookupGetter__),
           jsonRetry: jsonRetry, errorText: errorText,
           errors: {Error: Error, TypeError: TypeError, RangeError: RangeError, SyntaxError: SyntaxError,
                    ReferenceError: ReferenceError, EvalError: EvalError, URIError: URIError,
                    InternalError: typeof InternalError === 'function' ? InternalError : Error}};
  function setGlobal(name, kind, v) { G[name] = __orchweb_dec(kind, v); }  // strict: read-only ones throw
  // What a global `var NAME;` does: an own, enumerable, non-configurable property if there is none.
  var hasOwn = Object.prototype.hasOwnProperty;
  // declareNew, for a run of declarations in one call (`declare_undefined`), says false, and does
  // nothing, when G has the property already (its setter may be the document's: declared alone)
  function declareNew(name) {
    if (hasOwn.call(G, name)) return false;
    defineProperty(G, name, {value: undefined, writable: true, enumerable: true, configurable: false});
    return true;
  }
  function declareVar(name) { declareNew(name); }
  // A global predicate of one string (W3C `In`), called without the JSON bridge of _EXTRAS; the
  // property is what defineFunction makes (a document may still replace it).
  function definePredicate(name, rawName) {
    var raw = G[rawName];
    delete G[rawName];
    defineProperty(G, name, {value: function (id) { return typeof id === 'string' && raw(id) === true; },
                             writable: true, enumerable: false, configurable: true});
  }
  // In _CORE_HELPERS' order, read in one go by the binding (Object.unpack); nothing keeps the array.
  return [H, P, __orchweb_dec, defineSystem, setGlobal, declareVar, definePredicate];
})(globalThis)
"""


#: the names of what _CORE returns after H, in its order
_CORE_HELPERS: Final = ("P", "dec", "defineSystem", "setGlobal", "declareVar", "definePredicate")


@lru_cache(maxsize=4)  # one per kind of context
def _core(intrinsics: JSIntrinsics) -> str:
    """_CORE for a context with these built-ins: its BASELINE, the enumerable globals such a
    context has when _CORE runs (`Object.keys(globalThis)`: `performance` and the event getter in
    a "modern" one), read off a fresh context once per process instead of in every session
    (~20k instructions, 2.5% of a pingpong session's creation)."""
    ctx = _new_context(8 * 1024 * 1024, DEFAULT_STACK_SIZE, intrinsics)
    try:
        ctx.add_event_getter("__orchweb_event")
        baseline = ctx.eval("JSON.stringify(Object.keys(globalThis))")
    finally:
        ctx.close()
    return _CORE.replace("BASELINE;", baseline + ";", 1)


#: factory source -> its bytecode (None: evaluated as text), for every session of the process;
#: filled up to _FACTORY_CODE_LIMIT sources and never evicted, so that one source is always the
#: same bytes (a runtime keeps each program it ran once, by identity: `run_bytecode(share=True)`)
_factory_codes: dict[str, bytes | None] = {}
_FACTORY_CODE_LIMIT = 4096


def _factory_code(source: str) -> bytes | None:
    """The bytecode of a compiled function's factory (`_compile`), or None to evaluate its text.

    Parsing the factory was most of a small session's compiling (a pingpong session's one
    `<data>`: ~50k of its ~0.75 M instructions); run from bytecode read once per runtime
    (realm-free, as the libraries are) a context only makes its closures. The functions are
    the same: source text, lines and columns (filename `<input>`, as `ctx.eval`'s). Left as
    text: a source with a template literal (a tagged template's strings array read from
    bytecode is not frozen, as a parsed one is: docs/performance.md, "Library bytecode read
    once per runtime"), one that does not compile (its evaluation reports the error), and any
    source past the limit."""
    try:
        return _factory_codes[source]
    except KeyError:
        pass
    if len(_factory_codes) >= _FACTORY_CODE_LIMIT:
        return None  # before compiling: past the limit a source would be compiled at every call
    code = None if "`" in source else jsbytecode.compile_uncached(source)
    return _factory_codes.setdefault(source, code)  # a race keeps the first bytes


_EXTRAS = r"""
(function (P) {
  'use strict';
  var G = P.G, json = P.json, stringify = P.stringify, parse = P.parse, keys = P.keys, hidden = P.hidden,
      defineProperty = P.defineProperty, StringCtor = P.String, FunctionCtor = P.Function, errors = P.errors,
      apply = P.apply, getterOf = P.getterOf;

  function bridge(raw, native) {
    return function __orchweb_bridge() {
      var args = [];
      for (var i = 0; i < arguments.length; i++) args[i] = arguments[i];
      var r = native ? apply(raw, undefined, args) : raw(json(args)), tag = r.charAt(0);
      if (tag === 'o') return parse(r.slice(1));
      if (tag === 'u') return undefined;
      // A Python exception (or a JSError raised on purpose, keeping its JS type; an interrupt or
      // out-of-memory in a nested evaluation stays an InternalError).
      var err = parse(r.slice(1)), Ctor = errors[err[0]], e = new (Ctor || errors.Error)(err[1]);
      if (!Ctor) e.name = err[0];
      throw e;
    };
  }
  function defineFunction(path, rawName, native) {
    var raw = G[rawName];
    delete G[rawName];
    var parts = path.split('.'), holder = G;
    for (var i = 0; i < parts.length - 1; i++) {
      if (holder[parts[i]] === undefined || holder[parts[i]] === null) {
        defineProperty(holder, parts[i], {value: {}, writable: true, enumerable: holder !== G, configurable: true});
      }
      holder = holder[parts[i]];
    }
    defineProperty(holder, parts[parts.length - 1], {value: bridge(raw, native), writable: true, enumerable: false,
                                                     configurable: true});
    if (parts.length > 1) hidden[parts[0]] = true;
  }

  // The enumerable globals the document made, minus hidden and internal ones and functions held
  // in data properties (an accessor stays: the snapshot reads its getter). `getterOf` (Annex B
  // __lookupGetter__) tells accessors apart without a descriptor object per global. The binding's
  // record (Context.record_changes, record_visible in module.c) keeps the same names: change both.
  function visibleNames() {
    var ks = keys(G), names = [], n = 0;
    for (var i = 0; i < ks.length; i++) {
      var k = ks[i];
      if (hidden[k] === true || (k.charCodeAt(0) === 95 && k.slice(0, 10) === '__orchweb_')) continue;
      if (getterOf(G, k) === undefined && typeof G[k] === 'function') continue;
      names[n++] = k;
    }
    return names;
  }
  // JSON text of a global, null for undefined (a getter or toJSON that throws: its message).
  function textOf(k) {
    var text;
    try { text = json(G[k]); } catch (err) { text = stringify('<' + StringCtor(err) + '>'); }
    return text === undefined ? null : text;
  }
  // [[name, JSON text | null for undefined], ...]
  function snapshot(namesJson) {
    var names = namesJson === null ? visibleNames() : parse(namesJson), res = [], n = 0;
    for (var i = 0; i < names.length; i++) {
      if (names[i] in G) res[n++] = [names[i], textOf(names[i])];
    }
    return stringify(res);
  }
  function hide(namesJson) { var n = parse(namesJson); for (var i = 0; i < n.length; i++) hidden[n[i]] = true; }

  // Syntax check without running anything: `new Function` only compiles its body.
  function check(src, kind) {
    try {
      if (kind === 'expression') new FunctionCtor('return (' + src + '\n);'); else new FunctionCtor(src);
      return '';
    } catch (err) {
      var m = /<input>:(\d+):(\d+)/.exec(StringCtor(err.stack));
      return stringify([m ? +m[1] : null, m ? +m[2] : null, StringCtor(err.message)]);
    }
  }

  // Arguments as the binding converts them (no JSON): see define_function(native_args=True).
  function defineNativeFunction(path, rawName) { defineFunction(path, rawName, true); }
  // in _EXTRAS_HELPERS' order, read in one go (Object.unpack)
  return [defineFunction, defineNativeFunction, snapshot, hide, check];
})
"""

#: the names of what _EXTRAS returns, in its order (one `unpack`, not a JS call per helper)
_EXTRAS_HELPERS: Final = ("defineFunction", "defineNativeFunction", "snapshot", "hide", "check")

# A small XML DOM (W3C B.2: XML in <data>/<content> becomes a DOM value), compiled into a context
# the first time an `XMLValue` crosses. Level-1 reading API plus a few mutators; serialises via
# toString()/toJSON(), so XML values convert to Python as their XML text.
_XML_DOM = r"""
(function (P) {
  'use strict';
  var defineProperty = P.defineProperty;
  function nodeList(items) {
    defineProperty(items, 'item', {value: function (i) { return i < items.length ? items[i] : null; }});
    return items;
  }
  function esc(text, attr) {
    text = String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return attr ? text.replace(/"/g, '&quot;') : text;
  }
  function walk(node, visit) {
    for (var i = 0; i < node.childNodes.length; i++) { visit(node.childNodes[i]); walk(node.childNodes[i], visit); }
  }
  function Node() {}
  Node.prototype = {
    ELEMENT_NODE: 1, TEXT_NODE: 3, COMMENT_NODE: 8, DOCUMENT_NODE: 9, DOCUMENT_FRAGMENT_NODE: 11,
    get firstChild() { return this.childNodes.length ? this.childNodes[0] : null; },
    get lastChild() { return this.childNodes.length ? this.childNodes[this.childNodes.length - 1] : null; },
    get nextSibling() { return sibling(this, 1); },
    get previousSibling() { return sibling(this, -1); },
    get children() { return nodeList(this.childNodes.filter(function (n) { return n.nodeType === 1; })); },
    get textContent() {
      if (this.nodeType === 3 || this.nodeType === 8) return this.data;
      var out = '';
      walk(this, function (n) { if (n.nodeType === 3) out += n.data; });
      return out;
    },
    get nodeValue() { return this.nodeType === 3 || this.nodeType === 8 ? this.data : null; },
    hasChildNodes: function () { return this.childNodes.length > 0; },
    getElementsByTagName: function (name) {
      var out = [];
      walk(this, function (n) { if (n.nodeType === 1 && (name === '*' || n.nodeName === name)) out.push(n); });
      return nodeList(out);
    },
    getElementsByTagNameNS: function (ns, local) {
      var out = [];
      walk(this, function (n) {
        if (n.nodeType === 1 && (ns === '*' || n.namespaceURI === ns) && (local === '*' || n.localName === local)) {
          out.push(n);
        }
      });
      return nodeList(out);
    },
    getAttribute: function (name) { var a = attr(this, name); return a ? a.value : null; },
    hasAttribute: function (name) { return attr(this, name) !== null; },
    setAttribute: function (name, value) {
      var a = attr(this, name);
      if (a) a.value = String(value); else this.attributes.push({name: name, nodeName: name, value: String(value)});
    },
    removeAttribute: function (name) {
      var list = this.attributes;
      for (var i = 0; i < list.length; i++) if (list[i].name === name) list.splice(i, 1);
    },
    appendChild: function (child) { child.parentNode = this; this.childNodes.push(child); return child; },
    removeChild: function (child) {
      var i = this.childNodes.indexOf(child);
      if (i >= 0) { this.childNodes.splice(i, 1); child.parentNode = null; }
      return child;
    },
    toString: function () { return serialize(this); },
    toJSON: function () { return serialize(this); }
  };
  function sibling(node, step) {
    if (!node.parentNode) return null;
    var list = node.parentNode.childNodes, i = list.indexOf(node) + step;
    return i >= 0 && i < list.length ? list[i] : null;
  }
  function attr(el, name) {
    var list = el.attributes || [];
    for (var i = 0; i < list.length; i++) if (list[i].name === name) return list[i];
    return null;
  }
  function serialize(n) {
    if (n.nodeType === 3) return esc(n.data);
    if (n.nodeType === 8) return '<!--' + n.data + '-->';
    var inner = n.childNodes.map(serialize).join('');
    if (n.nodeType !== 1) return inner;
    var open = '<' + n.nodeName + n.attributes.map(function (a) {
      return ' ' + a.name + '="' + esc(a.value, true) + '"';
    }).join('');
    return inner ? open + '>' + inner + '</' + n.nodeName + '>' : open + '/>';
  }
  function make(props) {
    var n = Object.create(Node.prototype);
    n.parentNode = null;
    n.childNodes = nodeList([]);
    for (var k in props) n[k] = props[k];
    return n;
  }
  // tree: ['e', qname, localName, namespaceURI|null, [[name, value], ...], [children]] | ['t', text] | ['c', text]
  function build(t, parent) {
    var n;
    if (t[0] === 't') n = make({nodeType: 3, nodeName: '#text', data: t[1]});
    else if (t[0] === 'c') n = make({nodeType: 8, nodeName: '#comment', data: t[1]});
    else {
      n = make({nodeType: 1, nodeName: t[1], tagName: t[1], localName: t[2], namespaceURI: t[3],
                attributes: t[4].map(function (a) { return {name: a[0], nodeName: a[0], value: a[1]}; })});
      for (var i = 0; i < t[5].length; i++) build(t[5][i], n);
    }
    if (parent) parent.appendChild(n);
    return n;
  }
  // A single root element becomes a document (documentElement); anything else a fragment.
  P.xml = function (roots) {
    var elements = roots.filter(function (t) { return t[0] === 'e'; });
    var single = elements.length === 1 && roots.every(function (t) { return t[0] !== 't' || !/\S/.test(t[1]); });
    var holder = make(single ? {nodeType: 9, nodeName: '#document'} : {nodeType: 11, nodeName: '#document-fragment'});
    (single ? elements : roots).forEach(function (t) { build(t, holder); });
    if (single) holder.documentElement = holder.childNodes[0];
    return holder;
  };
})
"""

# Compiled-function templates. `__orchweb_h` is the private helper object, reached by closure.
# EXPR is followed by a newline so a trailing `// comment` cannot swallow the closing parenthesis.
_FACTORY = "(function (__orchweb_h) { return %s; })"
_EVALUATE = "function () { return __orchweb_h.out((%s\n)); }"
_EVALUATE_BOOL = "function () { return !!(%s\n); }"
_ASSIGN = "function () { %s%s = (%s\n); }"
_ASSIGN_VALUE = "function (__orchweb_k, __orchweb_v) { %s%s = __orchweb_h.dec(__orchweb_k, __orchweb_v); }"
_CHECK_LOCATION = "function () { %s = undefined; }"
# `declare`: _CORE's declareVar, then what `assign` (or `assign_value` of undefined) runs
_DECLARE = "function () { __orchweb_h.declareVar(%s); %s%s = (%s\n); }"
_DECLARE_UNDEFINED = "function () { __orchweb_h.declareVar(%s); %s%s = void 0; }"
# `declare_undefined`: a run of `_DECLARE_UNDEFINED`s in one function, from position `s` on,
# stopping before a name the global object has already (returns its position; the length when
# all were made); `__orchweb_j` is the position being made, read back (`s` < 0) when one throws
_DECLARE_RUN = (
    "(function () { var __orchweb_j = 0; return function (__orchweb_s) { "
    "if (__orchweb_s < 0) return __orchweb_j; switch (__orchweb_s) {%s} return %s; }; })()"
)
_DECLARE_RUN_CASE = ' case %d: __orchweb_j = %d; if (!__orchweb_h.declareNew("%s")) return %d; %s; %s = void 0;'
#: a run `declare_undefined` cannot make in one function (an invalid name): each alone
_NO_RUN: Final = object()

# An expression that is one literal whose value JavaScript would hand back unchanged: a string
# without escapes, line terminators, control characters or surrogates, an integer of at most 9
# digits (an int32: QuickJS returns it as an int) without a leading zero (octal), true, false,
# null; spaces and tabs around (JS whitespace; Python's `\s` has more). `evaluate` answers it
# without calling JavaScript: a third of an ORS interaction's evaluations are such literals
# (Composer's `<log expr="'...'">`, action attributes such as `'MainWorkflow'`).
_LITERAL = re.compile(
    r"[ \t]*(?:('[^'\\\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]*')|(\"[^\"\\\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]*\")"
    r"|(0|[1-9][0-9]{0,8})|(true|false|null))[ \t]*"
)
_WORDS: Final = {"true": True, "false": False, "null": None}
# `_sessionid + '...'`, a string literal as `_LITERAL`'s: the text Composer's generated `<log>`s
# start most blocks with (13 of an ORS interaction's ~90 evaluations). `_sessionid` is a
# non-configurable global accessor (_CORE's defineSystem) that no document can shadow or change,
# so its value is the one this datamodel last defined, and the sum is the two texts joined.
_SESSION_TEXT = re.compile(
    r"[ \t]*_sessionid[ \t]*\+[ \t]*(?:('[^'\\\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]*')"
    r"|(\"[^\"\\\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]*\"))[ \t]*"
)


@final
class _Literal:
    """The value of a literal expression, kept in a datamodel's expression cache (`_literal`);
    with `session`, the value is `_sessionid`'s followed by `value` (`_SESSION_TEXT`)."""

    def __init__(self, value: Any, session: bool = False) -> None:
        self.value = value
        self.session = session


_NOT_LITERAL: Final = _Literal(None)


_IDENTIFIER = re.compile(r"(?:[^\W\d]|\$)(?:\w|\$)*")
# A stack frame "    at NAME (<input>:LINE:COL)"; frames of our private helpers are skipped.
# Functions loaded from a SharedCode bundle report "<shared>:LINE" (mapped back to their own lines);
# scripts run under their own name ("<script FILE:LINE>", see `execute`).
_STACK_FRAME = re.compile(
    r"^\s*at (?!__orchweb_)(?:[^(\n]*\()?(<input>|<shared>|<script [^\n]*?>):(\d+):\d+", re.MULTILINE
)
_MAX_SAFE_INT = 2**53
#: deepest Python value `_finite` copies (sys.getrecursionlimit()'s default)
_MAX_DEPTH = 1000
_MIN_INT32, _MAX_INT32 = -(2**31), 2**31 - 1


#: the prefix of orchweb's own names in a context: the compiled functions' helper and parameters
#: (`__orchweb_h`, ...) and _CORE's hidden globals. A document's name with it would shadow one of
#: them (breaking that session's later expressions) or be shadowed (reading the helper instead of
#: the document's variable), and the datamodel view hides such globals: a document using one gets
#: a clear error instead of any of these silent answers (`_refuse_private`).
PRIVATE_PREFIX: Final = "__orchweb_"
#: a name that starts with the prefix (not one that merely contains it, such as `my__orchweb_x`)
_PRIVATE_NAME = re.compile(r"(?<![\w$])__orchweb_[\w$]*")


def _private_match(source: str) -> re.Match[str] | None:
    """The first name in `source` (an expression, a location, a variable name or a script) that
    starts with PRIVATE_PREFIX, or None. Textual: one in a string or a comment counts too."""
    if PRIVATE_PREFIX not in source:  # the common case: one substring search
        return None
    return _PRIVATE_NAME.search(source)


def private_name(source: str) -> str | None:
    """The first private name `source` uses (`_private_match`), or None."""
    match = _private_match(source)
    return match.group(0) if match is not None else None


def _refuse_private(source: str) -> None:
    name = private_name(source)
    if name is not None:
        raise JSError("SyntaxError", private_message(name))


def private_message(name: str) -> str:
    return f"{name}: names starting with {PRIVATE_PREFIX} are reserved by the simulator; rename it"


def _is_identifier(name: str) -> bool:
    if name.isascii():
        # `[A-Za-z_$][A-Za-z0-9_$]*`, Python's own rule for ASCII with `$` as a letter: the
        # pattern's classes test Unicode categories a character at a time (~2.8k instructions for
        # a name, 25 names per ORS interaction)
        return name.replace("$", "_").isidentifier()
    return _IDENTIFIER.fullmatch(name) is not None


def _location_shape_ok(location: str) -> bool:
    """Structural lvalue check: `ident ( .ident | [ ... ] )*` with balanced brackets.

    The JS compiler then checks the bracket contents. This rejects `a; b`, `f()`, `a = 1`, ...
    which would otherwise compile inside `LOC = undefined`.
    """
    text = location.strip()
    m = _IDENTIFIER.match(text)
    if m is None:
        return False
    i, n = m.end(), len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == ".":
            m = _IDENTIFIER.match(text, i + 1)
            if m is None:
                # allow whitespace after the dot
                j = i + 1
                while j < n and text[j].isspace():
                    j += 1
                m = _IDENTIFIER.match(text, j)
                if m is None:
                    return False
            i = m.end()
        elif ch == "[":
            i = _skip_brackets(text, i)
            if i < 0:
                return False
        else:
            return False
    return True


def _repeated(source: str) -> bool:
    """Whether this script text ran before in this process (remembers it otherwise)."""
    if source in _seen_scripts:
        return True
    if len(_seen_scripts) >= _SEEN_LIMIT:
        _seen_scripts.clear()
    _seen_scripts[source] = None
    return False


@lru_cache(maxsize=8192)
def _location_ok(location: str) -> bool:
    """`is_valid_location` once per process (compile only, nothing runs)."""
    if not _location_shape_ok(location):
        return False
    return jsbytecode.syntax_ok(_FACTORY % (_CHECK_LOCATION % location.strip()))


def _skip_brackets(text: str, start: int) -> int:
    """Index after the `]` matching `text[start] == '['`, skipping strings; -1 if unbalanced."""
    depth, i, n = 0, start, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'`":
            i += 1
            while i < n and text[i] != ch:
                i += 2 if text[i] == "\\" else 1
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0:
                return i + 1 if ch == "]" else -1
            if depth < 0:
                return -1
        i += 1
    return -1


def _py_default(value: Any) -> Any:
    """json.dumps fallback for Python values JSON does not know (best effort, never raises)."""
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    if value is UNDEFINED:
        return None
    return str(value)


def _finite(value: Any, depth: int = 0) -> Any:
    """Copy of a JSON-like value with NaN/Infinity replaced by None (JSON.parse rejects them).

    Compiled, this recursion has no interpreter limit (a cycle would overflow the C stack): it
    stops at Python's default one."""
    if depth > _MAX_DEPTH:
        raise RecursionError("value nested too deeply")
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, depth + 1) for v in value]
    return value


# One encoder instance: json.dumps() with options would build a new encoder on every call.
_encoder = json.JSONEncoder(allow_nan=False, default=_py_default, separators=(",", ":")).encode


# The C encoder behind it, made once: JSONEncoder.encode() builds a new one on every call, which
# was most of the cost of passing an event's data. No circular check here (a cycle ends in a
# RecursionError and takes the slow path below, which reports it).
_make_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_c_encoder = (
    _make_c_encoder(None, _py_default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False)
    if _make_c_encoder is not None
    else None
)


def _orjson_refuse(value: Any) -> Any:
    raise TypeError  # not plain JSON data: the json encoder below decides


# orjson writes plain data (dict, list, str, int, float, bool, None) several times faster than the
# C json encoder (it was ~10% of an event); anything else (subclasses, dates, dataclasses,
# non-string keys, integers beyond 64 bits, lone surrogates) is refused and takes the json path,
# so JavaScript parses the same values as before (an Enum member now crosses as its value, not
# its str()). orjson writes NaN/Infinity as null, as `_finite` does.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _dumps(value: Any) -> str:
    """Python value -> JSON text JSON.parse accepts (NaN/Infinity become null)."""
    try:
        return orjson.dumps(value, default=_orjson_refuse, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError too
        pass
    try:
        return "".join(_c_encoder(value, 0)) if _c_encoder is not None else _encoder(value)
    except (ValueError, TypeError, RecursionError):  # NaN/Infinity, keys JSON cannot take, cycles
        pass
    try:
        return _encoder(_finite(value))
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. a cyclic Python structure
        raise JSError("TypeError", f"value cannot be converted for JavaScript: {exc}") from None


def _encode(value: Any) -> tuple[int, Any]:
    """Python value -> (kind, payload) for the JS `dec(kind, v)` helper."""
    if type(value) is dict:  # the common case (event data): straight to JSON
        return 1, _dumps(value)
    if isinstance(value, XMLValue):
        return 3, _encoder(value.tree)
    if value is UNDEFINED:
        return 2, None
    if isinstance(value, str):
        return (1, json.dumps(value)) if "\0" in value else (0, value)
    if value is None or isinstance(value, (bool, float)):
        return 0, value
    if isinstance(value, int):
        # The binding hands a Python int to JS as a 32-bit integer (2**40 would arrive as 0): pass
        # larger ones as doubles, which hold every integer up to 2**53 exactly.
        return (0, value) if _MIN_INT32 <= value <= _MAX_INT32 else (0, float(value))
    return 1, _dumps(value)


def _loads(text: str) -> Any:
    """JSON text -> Python values, as `json.loads` reads them.

    orjson reads the same values ~2x faster (each step's `datamodel` record reads its answer
    here) but for integers past 64 bits, which it reads as floats, and values nested deeper
    than `json` can (its bound is the interpreter's recursion limit less the frames on the stack;
    orjson's is 1024): a text with a run of 19 digits, or with as many brackets as
    `_ORJSON_BRACKETS`, goes to `json` (as do those orjson refuses, e.g. lone surrogates)."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: `json` reads it
        raw = b"0" * 19
    marked = raw.translate(_MARKS)
    if _LONG_RUN not in marked and marked.count(b"[") < _ORJSON_BRACKETS:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text)
    except RecursionError:
        raise JSError("RangeError", "value too deeply nested to convert to Python") from None


#: every ASCII digit as `0` and `{` as `[`: one search finds a run of digits, one count the brackets
_MARKS: Final = bytes.maketrans(b"123456789{", b"000000000[")
#: the shortest run of digits that may be an integer past 64 bits (`-9223372036854775809`)
_LONG_RUN: Final = b"0" * 19
#: fewer opening brackets than this: nested less deep, which `json` reads with half of the
#: recursion limit (1000) taken by frames on the stack (the sample's records have ~20-200)
_ORJSON_BRACKETS: Final = 500


def _decode(result: Any) -> Any:
    """Result of the JS `out()` helper -> Python value."""
    kind = type(result)
    if kind is float:
        # QuickJS hands integral doubles (e.g. from JSON.parse) over as float; keep -0.0 as is.
        if (
            result.is_integer()
            and -_MAX_SAFE_INT <= result <= _MAX_SAFE_INT
            and (result or math.copysign(1, result) > 0)
        ):
            return int(result)
        return result
    if kind is str and result[:1] == "\x01":
        tag = result[1:2]
        if tag == "u":
            return UNDEFINED
        if tag == "j":
            return _loads(result[2:])
        return result[2:]
    return result


@lru_cache(maxsize=64)
def _zone_table(zone: ZoneRules) -> bytes:
    """A zone as the binding's `Context.set_clock` reads it (one bytes object per zone, shared by
    the contexts of every session using it): count, padding, transitions (float64 epoch ms),
    offsets (int32 minutes), positions of the NUL-terminated abbreviations, their UTF-8 text."""
    texts = [name.encode() + b"\0" for name in zone.abbreviations]
    positions = list(itertools.accumulate((len(t) for t in texts[:-1]), initial=0))
    n = len(zone.offsets)
    return struct.pack(f"=i4x{n - 1}d{n}i{n}I", n, *zone.transitions, *zone.offsets, *positions) + b"".join(texts)


def _seed_words(seed: str) -> tuple[int, int, int, int]:
    """Math.random's state: four 32-bit words of the seed's SHA-256, not all zero."""
    a, b, c, d = struct.unpack("<4I", hashlib.sha256(seed.encode()).digest()[:16])
    return (a, b, c, d) if a or b or c or d else (1, 0, 0, 0)


def _bridge(fn: Callable[..., Any], native_args: bool = False) -> Callable[..., str]:
    """Wrap a Python callable for `add_callable`: JSON in (or, with `native_args`, the arguments
    as the binding converts them), tagged JSON out, never raises."""

    def call(*payload: Any) -> str:
        try:
            result = fn(*payload) if native_args else fn(*json.loads(payload[0]))
            if result is UNDEFINED:
                return "u"
            return "o" + _dumps(result)
        except JSError as exc:
            return "e" + json.dumps([exc.name, exc.message])
        except Exception as err:  # never let an exception escape into the binding (`err`: mypyc
            # gives a name one type per function, JSError above)
            return "e" + json.dumps(["Error", f"{type(err).__name__}: {err}"])

    return call


#: SharedCode's raw positions of a bundle's functions: program fallback -> template -> key -> position
_Seeds = dict[bool, dict[str, dict[Any, int]]]


class SharedCode:
    """Compiled cond/expr/assign functions shared by the sessions of one document (thread-safe).

    Compiling is most of the cost of a short session: a Composer IPD compiles ~130 small
    functions (~10-30 µs each) per interaction. Sessions given the same `SharedCode`
    (`ECMAScriptDataModel.share_code`) record the factory source of every function they compile;
    a later session loads all recorded functions with one bytecode load (`jsbytecode.load_value`,
    ~40 µs for 130) and calls them through one private dispatcher. Only bytecode is shared: every
    session gets its own function objects in its own context, bound to its own helpers.

    Functions are found by their request (`raw`: template, key as given by the caller, program
    fallback) without preprocessing, or else by their final factory source (`index`); so all
    sessions sharing one SharedCode must use the same `preprocess`.

    The bundle is rebuilt (compiled once, in the process-wide compiler context) when enough new
    functions were recorded since the last build: at least an eighth more, or after 16 sessions.
    """

    def __init__(self, limit: int = _SHARED_LIMIT):
        #: factory source -> position in the bundle (append-only; read without the lock)
        self.index: dict[str, int] = {}
        #: (template, caller's key, program_fallback) -> position (append-only; read without the lock)
        self.raw: dict[tuple[str, Any, bool], int] = {}
        #: expression -> its `_Literal` or `_NOT_LITERAL` (`evaluate`): each session of the
        #: document meets each expression once, and the pattern and the preprocessing cost more
        #: than this lookup (bounded like the functions; a dict item's assignment is atomic)
        self.literals: dict[str, _Literal] = {}
        #: (script, name) -> bytecode of a named `<script>` as preprocessed (`execute`): each
        #: session of the document runs each of its scripts, and preprocessing them and the
        #: process-wide compile cache's key cost more than this lookup (bounded like the functions)
        self.scripts: dict[tuple[str, str], bytes] = {}
        self._sources: list[str] = []
        self._bundle: tuple[bytes, int, list[int], _Seeds] | None = None
        self._stale = 0
        self._broken = False
        self._limit = limit
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sources)

    @classmethod
    def of(cls, document: Any) -> SharedCode:
        """The SharedCode of `document` (any weak-referenceable object standing for one document,
        e.g. the engine's model), created on first use and dropped with the document."""
        with _shared_lock:
            shared = _shared_by_document.get(document)
            if shared is None:
                shared = _shared_by_document[document] = cls()
            return shared

    def record(self, source: str, raw: tuple[str, Any, bool]) -> None:
        """Remember the factory source of a function a session compiled successfully."""
        if raw in self.raw or len(self._sources) >= self._limit:
            return
        with self._lock:
            i = self.index.get(source)
            if i is None and len(self._sources) < self._limit:
                self._sources.append(source)
                i = self.index[source] = len(self._sources) - 1
            if i is not None:
                self.raw[raw] = i

    def bundle(self) -> tuple[bytes, int, list[int], _Seeds] | None:
        """(bytecode, function count, first line of each function, seeds) of the bundle, or None.

        The seeds are `raw` as of the build for the bundle's functions, by program fallback and
        template: a session that loaded the bundle finds a function there with one lookup (~2k
        instructions less than `raw`'s for each of the ~90 an ORS interaction meets)."""
        with self._lock:
            built = self._bundle[1] if self._bundle is not None else 0
            count = len(self._sources)
            if count > built and not self._broken:
                self._stale += 1
                if self._bundle is None or count - built >= max(8, built // 8) or self._stale >= 16:
                    bundle = _build_bundle(self._sources[:count])
                    if bundle is None:  # cannot happen for sources that compiled alone; be safe
                        self._broken = True
                    else:
                        seeds: _Seeds = {}
                        for (template, key, fallback), i in self.raw.items():
                            if i < count:
                                seeds.setdefault(fallback, {}).setdefault(template, {})[key] = i
                        self._bundle, self._stale = (*bundle, seeds), 0
            return self._bundle


_shared_by_document: weakref.WeakKeyDictionary[Any, SharedCode] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def _build_bundle(sources: list[str]) -> tuple[bytes, int, list[int]] | None:
    """Compile factory sources into one program `(function (h) {...})` returning the dispatcher
    `call(i, ...args)` of the factories applied to `h` (called without `this`, as the binding does).

    Each factory `(function (__orchweb_h) { return F; })` appears as its function `F` itself, in
    parentheses, in a scope whose `__orchweb_h` is `h`: the same function without a factory
    closure made and dropped per function and session, and with one captured variable for all
    of them instead of one each (~40 bytes less per function and session). Each `F` starts on
    the line and column where it stood in its factory, so error lines and stacks are unchanged.

    A session makes `F` on its first call, not when it reads the bundle: a waiting Composer
    session has called ~110 of the ~130 functions its document's sessions recorded (~170 bytes
    each). The functions stand as the leaves of a balanced conditional expression on the position
    (`__orchweb_m`: ~8 comparisons for a first call); the dispatcher keeps each made one."""
    prefix, suffix = _FACTORY.split("%s")
    starts, line, items = [], 2, []
    for source in sources:
        starts.append(line)
        line += source.count("\n") + 1
        if source.startswith(prefix) and source.endswith(suffix):
            items.append(" " * (len(prefix) - 1) + "(" + source[len(prefix) : -len(suffix)] + ")")
        else:  # not made by `_compile` (cannot happen): applied as it was
            items.append(f"{source}(__orchweb_h)")
    # The tree's tokens between two functions go at the end of the line where the first ends, so
    # that each function keeps its line and column.
    tokens: list[str | int] = []
    _bundle_tree(0, len(sources), tokens)
    text = [
        "(function (__orchweb_h) { var __orchweb_t = [" + ",".join("0" * len(sources)) + "];",
        " function __orchweb_m(__orchweb_i) { __orchweb_t[__orchweb_i] = ",
    ]
    for token in tokens:
        text.append(token if isinstance(token, str) else "\n" + items[token])
    # The functions see `__orchweb_h`, `__orchweb_t`, `__orchweb_m` and `__orchweb_i` (private
    # names) beside the globals, never the dispatcher's `t` (a `var t` beside them made a global
    # `t` read as the array in every session that loaded the bundle). The dispatcher's line is
    # the one it always was and its calls stand at the columns they always had, so the frames of
    # `__orchweb_call` in a stack keep their line and column.
    text.append(
        "; return __orchweb_t[__orchweb_i]; }\nreturn (function (t, m) {\n"
        "return function __orchweb_call(i,a,b){var f=t[i]||m(i); "
        "return arguments.length > 1 ? f(a, b) : f(); }; })(__orchweb_t, __orchweb_m); })"
    )
    code = jsbytecode.compile_uncached("".join(text), "<shared>", strip_source=True)
    return None if code is None else (code, len(sources), starts)


def _bundle_tree(lo: int, hi: int, tokens: list[str | int]) -> None:
    """The conditional expression choosing function `__orchweb_i` of `lo..hi-1` (an int token
    stands for a function's text)."""
    if hi - lo <= 1:
        tokens.append(lo if hi > lo else "undefined")
        return
    mid = (lo + hi) // 2
    tokens.append(f"(__orchweb_i < {mid} ? ")
    _bundle_tree(lo, mid, tokens)
    tokens.append(" : ")
    _bundle_tree(mid, hi, tokens)
    tokens.append(")")


@mypyc_attr(allow_interpreted_subclasses=True)
class _JSContext:
    """The JS context under an `ECMAScriptDataModel`: its lifecycle, running JS under the lock
    and the deadline, and compiling expressions once (with `SharedCode`)."""

    def __init__(
        self,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        time_limit: float = DEFAULT_TIME_LIMIT,
        preprocess: Callable[[str], str] | None = None,
        stack_size: int = DEFAULT_STACK_SIZE,
        program_fallback: bool = False,
        runtimes: RuntimePool | None = None,
        intrinsics: JSIntrinsics = "modern",
    ):
        self.memory_limit = int(memory_limit)
        self.time_limit = float(time_limit)
        self.preprocess = preprocess
        #: the context's built-ins: "modern" (all QuickJS has) or "es5" (`JSIntrinsics`)
        self.intrinsics = intrinsics
        #: When an expression is not a valid JS expression but a valid program (e.g. the labelled
        #: statement `caller_id: x.y`), evaluate it as a global program and use its completion
        #: value, as SpiderMonkey-based ORS does. Off = W3C behaviour (SyntaxError). May be set
        #: after construction (e.g. by a profile's install_globals); affects later compilations.
        self.program_fallback = program_fallback
        #: Set once an evaluation ran out of memory. The context may stay full (e.g. a global
        #: holding the garbage), so the engine should end the session and close() it.
        self.out_of_memory = False
        #: the pool and runtime this session shares (None: a runtime of its own)
        self._pool = runtimes
        self._shared_runtime: _SharedRuntime | None = None
        self._owner = _Owner()
        self._ctx: orchweb_quickjs.Context | None
        # `_run`'s four calls bound once (a call of a bound method skips the lookup of a method
        # call by name: ~350 of them an ORS interaction); a shared runtime's lock's, by the runtime
        self._acquire: Callable[[], object]
        self._release: Callable[[], object]
        if runtimes is None:
            self._lock = orchweb_quickjs.Lock()
            self._acquire, self._release = self._lock.acquire, self._lock.release
            self._ctx = _new_context(self.memory_limit, stack_size, intrinsics)
        else:
            self._ctx, self._shared_runtime = runtimes.new_context(
                self._owner, self.memory_limit, stack_size, intrinsics
            )
            self._lock = self._shared_runtime.lock  # one lock per runtime, not per session
            self._acquire, self._release = self._shared_runtime.acquire, self._shared_runtime.release
        self._deadline_in: Any = self._ctx.deadline_in
        self._run_bytecode: Any = self._ctx.run_bytecode
        self._depth = 0  # evaluations in progress on this thread (> 1 inside a Python callback)
        self._capped = False  # the running evaluation's deadline is the operation budget's
        self._ctx.add_event_getter("__orchweb_event")  # taken by _CORE
        helpers = self._run(self._load(_core(intrinsics)).unpack)
        self._h = helpers[0]
        self._js = {name: helpers[i + 1] for i, name in enumerate(_CORE_HELPERS)}
        self._set_event: Any = self._ctx.set_event
        self._declare_var = self._js["declareVar"]
        # Compiled JS functions, one dict per kind, keyed by the source text as written: a JS
        # function compiled by this session, or (an int) its position in the shared bundle,
        # called through the bundle's dispatcher (`_call`): no handle object per function.
        self._expr_fns: dict[str, Any] = {}
        self._bool_fns: dict[str, Any] = {}
        self._assign_fns: dict[tuple[str, str], Any] = {}
        self._value_fns: dict[str, Any] = {}
        self._declare_fns: dict[tuple[str, str | None], Any] = {}
        self._declare_run_fns: dict[tuple[str, ...], Any] = {}
        self._caches = (
            self._expr_fns,
            self._bool_fns,
            self._assign_fns,
            self._value_fns,
            self._declare_fns,
            self._declare_run_fns,
        )
        self._xml_loaded = False
        #: `_sessionid` as last defined (`set_systems`), when `_SESSION_TEXT` may use it
        self._sessionid: str | None = None
        #: `changes`: the JSON texts of the variables past the context's memo at the last call
        self._over_texts: dict[str, str] = {}
        self._record: Any = None  # `changes`: the context's record_changes, once set up
        self._scripts: dict[str, str] = {}
        self._locations: dict[str, bool] = {}
        self._callables = 0
        # Compiled functions shared with other sessions of the same document (share_code()).
        self._shared: SharedCode | None = None
        self._shared_loaded = False
        self._shared_call: Any = None  # JS: (index, args...) -> call of a function of the bundle
        self._shared_size = 0
        self._shared_lines: list[int] | None = None
        #: the loaded bundle's seeds (`SharedCode.bundle`) for `_seeds_fallback`, the program
        #: fallback when it was loaded
        self._seeds: dict[str, dict[Any, int]] | None = None
        self._seeds_fallback = False

    def share_code(self, shared: SharedCode) -> None:
        """Load compiled functions from `shared` and record new ones there (see `SharedCode`).

        Give every session of one document (with the same `preprocess`) the same `SharedCode`;
        never share one between documents of different origins (a document's functions would be
        loaded into the other's sessions, though never run unless their exact source is evaluated).
        """
        self._shared = shared

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._ctx is None

    def close(self) -> None:
        """Free the JS context (heap, compiled functions). Further calls raise JSError."""
        with self._lock:
            if self._ctx is None:
                return
            for cache in self._caches:
                cache.clear()
            self._scripts.clear()
            self._js.clear()
            self._set_event = self._h = self._shared_call = self._declare_var = self._record = None
            self._deadline_in = self._run_bytecode = None
            # Free the context now even if something still holds it or one of its values (e.g. a
            # traceback's frame): a held function would keep the whole realm alive.
            self._ctx.close()
            self._ctx = None
            if self._pool is not None and self._shared_runtime is not None:
                self._pool.release(self._owner, self._shared_runtime, self.memory_limit)
                self._shared_runtime = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running JS under the lock and the deadline -------------------------------------------

    def _run(self, fn: Callable[..., Any] | None, *args: Any) -> Any:
        """Call `fn(*args)` (a context method or compiled JS function) under lock and deadline;
        `fn` None: the context's `run_bytecode(*args)` (no wrapper's frame: a named `<script>`
        runs its bytecode so, ~35 an ORS interaction)."""
        # acquire/release rather than `with`: this runs for every JS call and `with` costs more
        self._acquire()
        depth = self._depth
        try:
            ctx = self._ctx
            if ctx is None:
                raise JSError("InternalError", "the datamodel is closed")
            if depth == 0:
                # Outermost evaluation: a fresh deadline, this context's own (the binding checks
                # the deadline of the context whose JS runs, also in a shared runtime). A nested
                # one (from a Python callback) keeps the outer deadline, so callbacks cannot
                # extend it; it stays set after the call (no JS runs until the next one).
                if _budget_users[0]:
                    # the global check keeps the thread-local read off the hot path when no budget runs
                    deadline = _monotonic() + self.time_limit
                    cap: float | None = getattr(_budget, "deadline", None)
                    self._capped = cap is not None and cap < deadline
                    ctx.deadline = cap if cap is not None and self._capped else deadline
                else:
                    self._capped = False
                    self._deadline_in(self.time_limit)  # time.monotonic() + limit, in C
            self._depth = depth + 1
            if fn is None:
                return self._run_bytecode(*args)
            return fn(*args)
        except orchweb_quickjs.JSException as exc:
            raise self._error(str(exc), exc) from None
        finally:
            self._depth = depth
            self._release()

    def _error(self, text: str, exc: orchweb_quickjs.JSException | None = None) -> JSError:
        """Turn the binding's exception text (`String(e) + "\\n" + e.stack`) into a JSError. The
        limit errors are told by the exception's class (the binding knows whether the runtime ran
        out of memory or was interrupted), never by the text, which a program can throw itself."""
        first, _, rest = text.partition("\n")
        limit = isinstance(exc, (orchweb_quickjs.OutOfMemory, orchweb_quickjs.Interrupted))
        if not limit and (rest.strip() == "undefined" or (first in ("null", "undefined") and not rest.strip())):
            # a thrown non-Error value (QuickJS's own limit errors may lack a stack: an interrupt
            # can land while the stack of the error being thrown is computed)
            return JSError("Error", f"uncaught exception: {first}")
        m = _STACK_FRAME.search(rest)
        line = int(m.group(2)) if m else None
        source = m.group(1) if m else None
        if m is not None and line is not None and m.group(1) == "<shared>" and self._shared_lines:
            # a line of the bundle -> the line inside that function's own factory source
            starts = self._shared_lines
            line = line - starts[max(bisect.bisect_right(starts, line) - 1, 0)] + 1
        name, sep, message = first.partition(": ")
        if not sep:
            name, message = "Error", first
        if isinstance(exc, orchweb_quickjs.Interrupted) and self._capped:
            message = f"interrupted: the operation's time budget of {_budget.seconds:g} s ran out"
        elif isinstance(exc, orchweb_quickjs.Interrupted):
            message = f"interrupted: exceeded the time limit of {self.time_limit:g} s"
        elif isinstance(exc, orchweb_quickjs.OutOfMemory):
            self.out_of_memory = True
            message = f"out of memory: exceeded the memory limit of {self._mib()}"
        return JSError(name, message, line, source)

    def _mib(self) -> str:
        return f"{self.memory_limit / 1048576:g} MiB"

    def _eval(self, source: str) -> Any:
        """Evaluate a global program (under lock and deadline)."""
        ctx = self._ctx
        if ctx is None:
            raise JSError("InternalError", "the datamodel is closed")
        return self._run(ctx.eval, source)

    def _load(self, source: str) -> Any:
        """Value of one of our constant programs (_CORE, _EXTRAS, _XML_DOM): parsed once per process."""
        code = jsbytecode.compile_program(source, True)
        if code is None:
            return self._eval(source)
        return self._run(jsbytecode.load_value, self._ctx, code, True)

    def _compile(self, cache: dict[Any, Any], key: Any, template: str, *parts: str) -> Any:
        """Compile `template % parts` into a JS function bound to the helpers; cache it by `key`."""
        source = _FACTORY % (template % parts)
        shared = self._shared
        fn: Any = None if shared is None else self._shared_function(shared.index.get(source))
        if fn is None:
            code = _factory_code(source)
            try:
                if code is None:
                    factory = self._eval(source)
                else:
                    factory = self._run(jsbytecode.load_value, self._ctx, code, True)
            except JSError as exc:
                # The source starts on line 1 of the wrapper; an error at the closing parenthesis
                # we add after it is reported on the source's last line.
                last = 1 + sum(part.count("\n") for part in parts)
                if exc.line is not None and exc.line > last:
                    exc.line = last
                raise
            fn = self._run(factory, self._h)
            if shared is not None:
                shared.record(source, (template, key, self.program_fallback))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = fn
        return fn

    def _shared_function(self, i: int | None) -> int | None:
        """`i` if this session has function `i` of the shared bundle (called through `_call`),
        or None if it does not.

        The bundle is loaded into the context (one bytecode load) on the first hit.
        """
        if i is None:
            return None
        if i >= self._shared_size:
            if self._shared_loaded:
                return None  # recorded after this session loaded the bundle: compile it
            self._shared_loaded = True
            bundle = self._shared.bundle() if self._shared is not None else None
            if bundle is None:
                return None
            code, size, lines, seeds = bundle
            try:
                # read once per runtime (realm-free), kept under the document's slot: a rebuilt
                # bundle replaces the runtime's read instead of adding one
                bundle_fn = self._run(jsbytecode.load_value, self._ctx, code, False, id(self._shared))
                self._shared_call = self._run(bundle_fn, self._h)
            except JSError:
                return None  # e.g. out of memory: compiling one by one reports it properly
            self._shared_size, self._shared_lines = size, lines
            self._seeds, self._seeds_fallback = seeds.get(self.program_fallback, {}), self.program_fallback
            if i >= size:
                return None
        # the index itself, not a handle bound to it: a method object was 64 bytes (a partial
        # 192) for each of the ~110 functions a waiting Composer session has used
        return i

    def _call(self, fn: Any) -> Any:
        """Call a function of the caches without arguments (`_run`): this session's own JS
        function, or an int, the position of the function in the shared bundle."""
        if isinstance(fn, int):
            return self._run(self._shared_call, fn)
        return self._run(fn)

    def _cached(self, cache: dict[Any, Any], key: Any, template: str) -> Any:
        """On a cache miss: the function for `key` from the shared bundle (no parsing), or None."""
        seeds = self._seeds
        if seeds is not None and self._seeds_fallback == self.program_fallback:
            table = seeds.get(template)
            i = table.get(key) if table is not None else None
            if i is not None:
                # what `raw` gives (append-only), in the loaded bundle; not kept in `cache`: most
                # are met once a session
                return i
        if self._shared is None:
            return None
        fn = self._shared_function(self._shared.raw.get((template, key, self.program_fallback)))
        if fn is not None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[key] = fn
        return fn

    def _compile_expression(self, cache: dict[Any, Any], key: Any, template: str, expr: str, *prefix: str) -> Any:
        """`_compile` for a template whose last part is a (preprocessed) expression.

        With `program_fallback`, a source that is not an expression but is a valid program is
        compiled as a global `eval` of that program instead (its completion value is the result).
        """
        source = self._pre(expr)
        _refuse_private(source)
        try:
            return self._compile(cache, key, template, *prefix, source)
        except JSError as exc:
            if not self.program_fallback or exc.name != "SyntaxError":
                raise
            if self._run(self._helper("check"), source, "script"):
                raise  # not a program either: report the expression's syntax error
            return self._compile(cache, key, template, *prefix, f"__orchweb_h.geval({json.dumps(source)})")

    def _encode(self, value: Any) -> tuple[int, Any]:
        """`_encode`, loading the XML DOM helpers into this context the first time they are needed."""
        encoded = _encode(value)
        if encoded[0] == 3 and not self._xml_loaded:
            self._run(self._load(_XML_DOM), self._js["P"])
            self._xml_loaded = True
        return encoded

    def _helper(self, name: str) -> Any:
        """A helper of _EXTRAS (compiled into this context on first use)."""
        fn = self._js.get(name)
        if fn is None:
            if self._ctx is None:
                raise JSError("InternalError", "the datamodel is closed")
            helpers = self._run(self._run(self._load(_EXTRAS), self._js["P"]).unpack)
            for i, helper in enumerate(_EXTRAS_HELPERS):
                self._js[helper] = helpers[i]
            fn = self._js[name]
        return fn

    def _pre(self, source: str) -> str:
        return self.preprocess(source) if self.preprocess is not None else source


@mypyc_attr(allow_interpreted_subclasses=True)
class ECMAScriptDataModel(_JSContext):
    """A sandboxed ECMAScript datamodel for one SCXML session (see the module docstring).

    Every method may raise `JSError`; the engine turns it into `error.execution`. Instances are
    thread-safe (a per-session re-entrant lock serialises evaluations, so a Python callback may
    evaluate in the same datamodel) and may move between threads.
    """

    # -- expressions --------------------------------------------------------------------------

    def evaluate(self, expr: str) -> Any:
        """Value of an expression as a Python value (via JSON); `undefined` -> `UNDEFINED`."""
        fn = self._expr_fns.get(expr)
        if fn is None:
            fn = self._literal(expr)
            if fn is None:
                fn = self._cached(self._expr_fns, expr, _EVALUATE)
                if fn is None:
                    fn = self._compile_expression(self._expr_fns, expr, _EVALUATE, expr)
        if type(fn) is _Literal:
            if self._ctx is None:
                raise JSError("InternalError", "the datamodel is closed")
            if not fn.session:
                return fn.value
            if self._sessionid is not None:
                return self._sessionid + fn.value
            fn = self._compile_expression(self._expr_fns, expr, _EVALUATE, expr)  # not defined here
        return _decode(self._call(fn))

    def _literal_of(self, expr: str) -> _Literal:
        """`expr`'s `_Literal`, or `_NOT_LITERAL`."""
        m = _LITERAL.fullmatch(expr)
        if m is None:
            session = _SESSION_TEXT.fullmatch(expr)
            if session is None or self._pre(expr) != expr:
                return _NOT_LITERAL
            return _Literal((session.group(1) or session.group(2))[1:-1], True)
        if self._pre(expr) != expr:  # preprocessed: JS would run another expression
            return _NOT_LITERAL
        text, number, word = m.group(1) or m.group(2), m.group(3), m.group(4)
        return _Literal(text[1:-1] if text is not None else int(number) if number is not None else _WORDS[word])

    def _literal(self, expr: str) -> _Literal | None:
        """A `_Literal` (kept in the expression cache) if `expr` is a plain literal, else None."""
        shared = self._shared
        literal = shared.literals.get(expr) if shared is not None else None
        if literal is None:
            literal = self._literal_of(expr)
            if shared is not None and len(shared.literals) < _SHARED_LIMIT:
                shared.literals[expr] = literal
        if literal is _NOT_LITERAL:
            return None
        if len(self._expr_fns) >= _CACHE_LIMIT:
            self._expr_fns.clear()
        self._expr_fns[expr] = literal
        return literal

    def evaluate_bool(self, expr: str) -> bool:
        """Truthiness of an expression (a transition `cond`)."""
        fn = self._bool_fns.get(expr)
        if fn is None:
            fn = self._cached(self._bool_fns, expr, _EVALUATE_BOOL)
            if fn is None:
                fn = self._compile_expression(self._bool_fns, expr, _EVALUATE_BOOL, expr)
        return self._call(fn)

    # -- locations ----------------------------------------------------------------------------

    def is_valid_location(self, location: str) -> bool:
        """Whether `location` is an assignable left-hand side (`a`, `a.b`, `a[0].c`, ...).

        Only the syntax is checked; whether the variable exists is checked by `assign`.
        """
        ok = self._locations.get(location)
        if ok is None:
            ok = _location_ok(location) if len(location) <= _SHARED_CHECK_MAX_CHARS else None
            if ok is None:  # long: checked in this session, under its limits
                ok = _location_shape_ok(location)
                if ok:
                    try:
                        self._eval(_FACTORY % (_CHECK_LOCATION % location.strip()))
                    except JSError:
                        ok = False
            self._locations[location] = ok
        return ok

    def _check_location(self, location: str) -> tuple[str, str]:
        """(location, pre-read) for an assignment, or JSError for an invalid location.

        A bare identifier is read before it is written so that an undeclared variable raises a
        ReferenceError instead of silently creating a global (W3C: error.execution).
        """
        if not self.is_valid_location(location):
            raise JSError("SyntaxError", f"invalid location: {location!r}")
        _refuse_private(location)
        loc = location.strip()
        return loc, (loc + "; " if _is_identifier(loc) else "")

    def assign(self, location: str, expr: str) -> None:
        """`<assign location expr>`: one compiled JS call `LOC = (EXPR)`."""
        fn = self._assign_fns.get((location, expr))
        if fn is None:
            fn = self._cached(self._assign_fns, (location, expr), _ASSIGN)
            if fn is None:
                loc, pre = self._check_location(location)
                fn = self._compile_expression(self._assign_fns, (location, expr), _ASSIGN, expr, pre, loc)
        self._call(fn)

    def assign_value(self, location: str, value: Any) -> None:
        """Assign a Python value (JSON-like; `UNDEFINED` allowed) to a location."""
        fn = self._value_fns.get(location)
        if fn is None:
            fn = self._cached(self._value_fns, location, _ASSIGN_VALUE)
            if fn is None:
                loc, pre = self._check_location(location)
                fn = self._compile(self._value_fns, location, _ASSIGN_VALUE, pre, loc)
        kind, payload = self._encode(value)
        if isinstance(fn, int):
            self._run(self._shared_call, fn, kind, payload)
        else:
            self._run(fn, kind, payload)

    def declare(self, id: str, expr: str | None = None) -> None:
        """`<data id expr>`: declare a global variable, set to `expr` (or `undefined`).

        If `expr` fails the variable still exists, unbound (W3C 5.3), and JSError is raised.
        The variable is declared like a global `var` (own, enumerable, non-configurable property of
        the global object), then assigned as `assign` does, both in one compiled function (one
        call, not two: 17 per ORS interaction), which sessions of one document share (see
        `SharedCode`) instead of parsing a program each time.
        """
        if not _is_identifier(id):
            raise JSError("SyntaxError", f"invalid variable name: {id!r}")
        key = (id, expr)
        fn = self._declare_fns.get(key)
        if fn is None:
            _refuse_private(id)  # not even declared unbound (a cached function's id was checked)
            template = _DECLARE_UNDEFINED if expr is None else _DECLARE
            fn = self._cached(self._declare_fns, key, template)
            if fn is None:
                try:
                    loc, pre = self._check_location(id)
                    if expr is None:
                        fn = self._compile(self._declare_fns, key, template, f'"{id}"', pre, loc)
                    else:
                        fn = self._compile_expression(self._declare_fns, key, template, expr, f'"{id}"', pre, loc)
                except JSError:
                    self._run(self._declare_var, id)  # the variable exists, unbound (W3C 5.3)
                    raise
        self._call(fn)

    def declare_undefined(self, ids: tuple[str, ...], start: int) -> tuple[int, Exception | None]:
        """`declare(id, None)` for `ids[start]`, `ids[start + 1]`, ... in order, in one JS call (a
        state's `<data>` without a value: 15 of an ORS interaction's 17 came one call each).

        Returns `(i, None)`: the declarations before `i` were made, and `i == len(ids)` or the
        global object has `ids[i]` already (declaring it may run a setter of the document's, whose
        time counts against a deadline of its own: `declare` it alone, then go on from `i + 1`);
        or `(i, error)`: declaration `i` failed with `error` (what `declare` would have raised),
        the ones before it were made, none after. A run with an invalid or a private name
        (`__orchweb_*`) stops at once (`(start, None)`): each is declared alone. Only names new to
        the global object are declared in the run, so no document code runs in it.
        """
        fn: Any = self._declare_run_fns.get(ids)
        if fn is None:
            fn = self._cached(self._declare_run_fns, ids, _DECLARE_RUN)
            if fn is None:
                # (a private name could be the run's own variable; invalid names raise alone)
                if all(_is_identifier(id) and private_name(id) is None and self.is_valid_location(id) for id in ids):
                    cases = "".join(_DECLARE_RUN_CASE % (k, k, id, k, id, id) for k, id in enumerate(ids))
                    try:
                        fn = self._compile(self._declare_run_fns, ids, _DECLARE_RUN, cases, str(len(ids)))
                    except JSError:
                        fn = None
                if fn is None:
                    fn = self._declare_run_fns[ids] = _NO_RUN
        if fn is _NO_RUN or self._ctx is None:
            return start, None
        try:
            if isinstance(fn, int):
                return int(self._run(self._shared_call, fn, start)), None
            return int(self._run(fn, start)), None
        except JSError as exc:
            # which declaration threw (an interrupt too): the position the run was making
            made = self._run(self._shared_call, fn, -1) if isinstance(fn, int) else self._run(fn, -1)
            return int(made), exc

    def declare_value(self, id: str, value: Any) -> None:
        """Declare a global variable holding a Python value (e.g. `<data>` JSON content)."""
        if not _is_identifier(id):
            raise JSError("SyntaxError", f"invalid variable name: {id!r}")
        _refuse_private(id)
        self._run(self._declare_var, id)
        self._run(self._js["setGlobal"], id, *self._encode(value))

    # -- scripts ------------------------------------------------------------------------------

    def execute(self, script: str, name: str = "<input>") -> None:
        """Run a `<script>` body as a global program (`var` and functions become globals).

        `name` is the JS filename it runs under: a JSError's `source` names the script whose line
        failed, also when that is a function this script defined and another one called.
        """
        # a named script's bytecode is kept per document (SharedCode.scripts)
        scripts = self._shared.scripts if self._shared is not None and name != "<input>" else None
        if scripts is not None:
            code = scripts.get((script, name))
            if code is not None:
                self._run(None, code, False, True)  # jsbytecode.run_program's call
                return
        source = self._scripts.get(script)
        if source is None:
            source = self._pre(script)
            _refuse_private(source)  # once per session and script (kept in `_scripts` once checked)
            if len(self._scripts) >= _CACHE_LIMIT:
                self._scripts.clear()
            self._scripts[script] = source
        if name != "<input>" or (
            len(source) >= _BYTECODE_MIN_CHARS and (len(source) >= _BYTECODE_ALWAYS_CHARS or _repeated(source))
        ):
            # Libraries and document scripts: parse once per process, load bytecode per session
            # (a named script always: an unnamed eval would report its lines as "<input>").
            code = jsbytecode.compile_program(source, filename=name)
            if code is not None:
                if scripts is not None and len(scripts) < _SHARED_LIMIT:
                    scripts[(script, name)] = code
                # shared: the text of the libraries' functions is in the process once, not per session
                self._run(None, code, False, True)  # jsbytecode.run_program's call
                return
        self._eval(source)

    def execute_host(self, source: str) -> None:
        """Run a program of the embedder's own (a dialect's host objects such as ORS's
        `_genesys`), never the document's: parsed once per process and read without its source
        text, so its functions print as native code, as a platform's host functions do (and the
        text, copied into every nested function's bytecode, costs no heap per session)."""
        code = jsbytecode.compile_program(source, True)
        if code is None:
            self._eval(source)  # raises its SyntaxError
            return
        self._run(None, code, False, True)  # jsbytecode.run_program's call

    # -- events and system variables ----------------------------------------------------------

    def set_event(
        self,
        name: str,
        type: str = "internal",
        sendid: str | None = None,
        origin: str | None = None,
        origintype: str | None = None,
        invokeid: str | None = None,
        data: Any = UNDEFINED,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Make `_event` a new frozen JS object; `None` fields and data become `undefined`.

        The binding builds the object on the first read of `_event` after this call, once: every
        read until the next call sees the same object. `extra` adds fields (e.g. `raw` for the
        BasicHTTP processor; one named like a standard field replaces its value).
        """
        extra_json = None if extra is None else _dumps(extra)
        # No JS runs here (the object is built by the evaluation that first reads it, under its
        # deadline): the lock, without `_run`'s deadline.
        lock = self._lock
        lock.acquire()
        try:
            set_event = self._set_event
            if set_event is None:
                raise JSError("InternalError", "the datamodel is closed")
            kind: int
            payload: Any
            if isinstance(data, dict):
                # The common case: a flat dict crosses as it is (the binding converts it as
                # JSON.parse would its JSON), any other as JSON (as `_encode` would).
                if set_event(name, type, sendid, origin, origintype, invokeid, 4, data, extra_json):
                    return
                kind, payload = 1, _dumps(data)
            else:
                kind, payload = (2, None) if data is None else _encode(data)
                if kind == 3:
                    kind, payload = self._encode(data)  # loads the XML DOM helpers first
            set_event(name, type, sendid, origin, origintype, invokeid, kind, payload, extra_json,
                      self._js["dec"] if kind == 3 else None)  # fmt: skip
        finally:
            lock.release()

    def set_system(self, name: str, value: Any) -> None:
        """Define or update a read-only system variable (`_sessionid`, `_name`, `_ioprocessors`, `_x`)."""
        self.set_systems(((name, value),))

    def set_systems(self, items: Iterable[tuple[str, Any]]) -> None:
        """`set_system` of each (name, value), in order, in one JS call (a session's start defines
        four); a name that cannot be one fails before any is defined."""
        args: list[Any] = []
        sessionid = self._sessionid
        for name, value in items:
            if not _is_identifier(name) or name == "_event":
                raise JSError("TypeError", f"cannot define system variable {name!r}")
            args.append(name)
            args.extend(self._encode(value))
            if name == "_sessionid":
                # a printable ASCII text reads back from JS as itself (`_decode` tags none)
                plain = type(value) is str and value.isascii() and value.isprintable()
                sessionid = value if plain else None
        self._run(self._js["defineSystem"], *args)
        self._sessionid = sessionid

    # -- Python functions ---------------------------------------------------------------------

    def define_function(self, name: str, fn: Callable[..., Any], native_args: bool = False) -> None:
        """Expose `fn(*args)` to JS as `name` (may be dotted: `_genesys.session.getUData`).

        Arguments and the result cross as JSON; `UNDEFINED` returns `undefined`. A Python
        exception becomes a catchable JS `Error` (a raised `JSError` keeps its JS type).
        With `native_args` the arguments cross as the binding converts them (strings, numbers,
        booleans, null/undefined as None; no JSON either way): for a caller that passes only
        those, e.g. text it encoded itself.
        """
        if not all(_is_identifier(p) for p in name.split(".")):
            raise JSError("SyntaxError", f"invalid function name: {name!r}")
        helper = "defineNativeFunction" if native_args else "defineFunction"
        self._define_callable(name, _bridge(fn, native_args), lambda: self._helper(helper))

    def define_predicate(self, name: str, fn: Callable[[str], bool]) -> None:
        """Expose `fn(id)` to JS as the global `name`: true only for a string `id` for which `fn`
        returns True. Strings and booleans cross natively (no JSON), so `In()` in a cond costs a
        plain call; `fn` must not raise (nothing may escape into the binding).
        """
        if not _is_identifier(name):
            raise JSError("SyntaxError", f"invalid function name: {name!r}")
        self._define_callable(name, fn, lambda: self._js["definePredicate"])

    def _define_callable(self, name: str, raw_fn: Callable[..., Any], define: Callable[[], Any]) -> None:
        """Add `raw_fn` to the context under a fresh private name; the JS helper `define()` (looked
        up under the lock, once the context is known to be open) binds `name` to it."""
        with self._lock:
            if self._ctx is None:
                raise JSError("InternalError", "the datamodel is closed")
            self._callables += 1
            raw = f"__orchweb_py{self._callables}"
            self._ctx.add_callable(raw, raw_fn)
            self._run(define(), name, raw)

    # -- the simulation's wall clock -----------------------------------------------------------

    def install_time(self, zone: ZoneRules, now_ms: Callable[[], float], seed: str) -> None:
        """Make `Date` read the epoch instant `now_ms()` and show local time in `zone`, and seed
        `Math.random` from `seed` (same seed, same numbers, in any process).

        Call once, before any document code runs. QuickJS reads the clock natively
        (native/quickjs/patches/80-virtual-clock.patch): nothing is installed in JavaScript.
        `now_ms` must be cheap: it is called for every reading of the time (one that raises
        reads as NaN, an Invalid Date; nothing escapes). `performance.timeOrigin` is the time now.
        """

        def epoch_ms() -> float:
            try:
                return float(now_ms())
            except Exception:  # never let an exception escape into the binding
                return math.nan

        with self._lock:
            if self._ctx is None:
                raise JSError("InternalError", "the datamodel is closed")
            try:
                self._ctx.set_clock(epoch_ms, _zone_table(zone), _seed_words(seed))
            except orchweb_quickjs.JSException as exc:  # out of memory: no clock, never the host's
                raise JSError("InternalError", f"cannot install the simulation clock: {exc}") from None

    # -- inspection ---------------------------------------------------------------------------

    def hide_globals(self, names: Iterable[str]) -> None:
        """Leave these globals out of `snapshot()` (e.g. shims installed by a dialect)."""
        self._run(self._helper("hide"), json.dumps(list(names)))

    def snapshot_json(self, names: Iterable[str] | None = None) -> dict[str, str | None]:
        """Per-variable JSON text (None for `undefined`) of user variables, in one JS call.

        Cheap change detection for the engine: compare the strings between two snapshots.
        Without `names`: the enumerable, non-function globals the document created (`<data>`,
        `var` in scripts), minus system variables, defined functions and built-ins.
        """
        arg = None if names is None else json.dumps(list(names))
        return dict(_loads(self._run(self._helper("snapshot"), arg)))

    def changes(self, reset: bool = False) -> tuple[dict[str, Any], list[str]]:
        """The user variables (those of `snapshot_json()`) new or changed since the last call, as
        JSON-safe values (`undefined` -> None), and the names of those gone since; with `reset`
        (and on the first call) every variable is new. Compared by JSON text inside the context,
        so a step that changed a few variables sends only those across."""
        record = self._record
        if record is None:
            record = self._record_setup()
        entries, removed = _loads(self._run(record, reset))
        last_over = {} if reset else self._over_texts
        changed: dict[str, Any] = {}
        over: dict[str, str] = {}
        for entry in entries:
            if len(entry) == 2:
                changed[entry[0]] = entry[1]
                continue
            name, text = entry[0], entry[1]  # past the context's memo: its text, compared here
            over[name] = text
            if last_over.get(name) != text:
                changed[name] = _loads(text)
        self._over_texts = over
        return changed, removed

    def _record_setup(self) -> Any:
        """The binding's record of this context (`Context.record_changes`), given _CORE's helpers."""
        with self._lock:
            if self._ctx is None:
                raise JSError("InternalError", "the datamodel is closed")
            self._ctx.set_record_helpers(self._js["P"])
            self._record = self._ctx.record_changes
        return self._record

    def snapshot(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """JSON-safe values of user variables (see `snapshot_json`); `undefined` -> None."""
        return {k: None if v is None else _loads(v) for k, v in self.snapshot_json(names).items()}

    def memory_used(self) -> int:
        """Bytes currently allocated by this session's JS runtime (shared: by all its sessions)."""
        with self._lock:
            return 0 if self._ctx is None else int(self._ctx.memory()["malloc_size"])


# --------------------------------------------------------------------------------------------
# Syntax checking for the linter (compile only, never run).

_checker: ECMAScriptDataModel | None = None
_checker_lock = threading.Lock()


def check_syntax(source: str, kind: str = "script") -> list[tuple[int | None, int | None, str]]:
    """Syntax errors of a script body or an expression: `[(line, column, message)]` (1-based).

    Compiles with `new Function` in a private context, so nothing in `source` runs. Lines and
    columns refer to `source`.
    """
    global _checker
    if kind not in {"script", "expression"}:
        raise ValueError(f"kind must be 'script' or 'expression', not {kind!r}")
    private = _private_match(source)
    if private is not None:  # compiles, but a session refuses it (`_refuse_private`)
        at = private.start()
        line = source.count("\n", 0, at) + 1
        return [(line, at - (source.rfind("\n", 0, at) + 1) + 1, private_message(private.group(0)))]
    with _checker_lock:
        if _checker is None or _checker.closed:
            _checker = ECMAScriptDataModel(time_limit=2.0)
        try:
            result = _checker._run(_checker._helper("check"), source, kind)
        except JSError as exc:  # out of memory / interrupted while compiling something huge
            _checker.close()
            return [(None, None, exc.message)]
    if not result:
        return []
    line, column, message = json.loads(result)
    if line is not None:
        # `new Function` puts the body on line 3 ("function anonymous(\n) {\n").
        line -= 2
        if kind == "expression" and line == 1 and column is not None:
            column -= len("return (")
        lines = source.split("\n")
        if line > len(lines):  # at the parenthesis/brace the wrapper adds: end of the source
            line, column = len(lines), len(lines[-1]) + 1
        line = max(line, 1)
    return [(line, column, message)]
