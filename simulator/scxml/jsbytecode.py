"""Compile-once bytecode for large scripts, shared by every session of the process.

Parsing is most of the cost of a new session when a document loads big script libraries (a
Composer IPD runs ~85 KiB of include JS in every session). QuickJS can compile a program once,
serialise its bytecode (``JS_WriteObject``) and load it into any other context of the same engine
build (``JS_ReadObject`` + ``JS_EvalFunction``): about 4x faster than parsing it again. The
binding does not expose these functions, so they are called through ctypes on the symbols the
extension module exports (the same technique as the datamodel's interrupt handler).

``compile_program(source, strip_source=False, filename="<input>") -> bytes | None``: bytecode of a
global program (process-wide cache, per source and filename); ``None`` when it does not compile
(the caller then evaluates the text and reports the error).
``compile_uncached(source, filename)``: the same without the cache (one-off bundles).
``run_program(ctx, code)``: run it in a ``_quickjs.Context``; a thrown exception is re-raised as
``_quickjs.JSException`` with the binding's text format (``String(e)`` newline ``e.stack``), so
callers handle it exactly like an ``eval`` failure.
``load_value(ctx, code)``: like ``run_program`` but returns the program's completion value when it
is an object or function (a callable ``_quickjs.Object``, exactly what ``ctx.eval`` would return).
``syntax_ok(source)``: whether a global program compiles (nothing runs; process-wide cache).
``available``: False if the symbols are missing (then callers just ``eval``).
"""

from __future__ import annotations

import ctypes
import threading
from functools import lru_cache

import _quickjs

#: QuickJS-ng flag values (quickjs.h)
_EVAL_TYPE_GLOBAL = 0
_EVAL_FLAG_COMPILE_ONLY = 1 << 5
_WRITE_OBJ_BYTECODE = 1 << 0
_WRITE_OBJ_STRIP_SOURCE = 1 << 4
_READ_OBJ_BYTECODE = 1 << 0
_TAG_EXCEPTION = 6
_TAG_FUNCTION_BYTECODE = -2
_TAG_OBJECT = -1


class _JSValue(ctypes.Structure):
    # x86_64/aarch64 non-NaN-boxing layout: { union (8 bytes), int64 tag } returned in two registers.
    _fields_ = [("u", ctypes.c_uint64), ("tag", ctypes.c_int64)]


try:
    _lib = ctypes.CDLL(_quickjs.__file__)
    _vp = ctypes.c_void_p
    _lib.JS_Eval.argtypes = [_vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int]
    _lib.JS_Eval.restype = _JSValue
    _lib.JS_WriteObject.argtypes = [_vp, ctypes.POINTER(ctypes.c_size_t), _JSValue, ctypes.c_int]
    _lib.JS_WriteObject.restype = _vp
    _lib.JS_ReadObject.argtypes = [_vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    _lib.JS_ReadObject.restype = _JSValue
    _lib.JS_EvalFunction.argtypes = [_vp, _JSValue]
    _lib.JS_EvalFunction.restype = _JSValue
    _lib.JS_FreeValue.argtypes = [_vp, _JSValue]
    _lib.JS_FreeValue.restype = None
    _lib.js_free.argtypes = [_vp, _vp]
    _lib.js_free.restype = None
    _lib.JS_GetException.argtypes = [_vp]
    _lib.JS_GetException.restype = _JSValue
    _lib.JS_GetPropertyStr.argtypes = [_vp, _JSValue, ctypes.c_char_p]
    _lib.JS_GetPropertyStr.restype = _JSValue
    _lib.JS_ToCStringLen2.argtypes = [_vp, ctypes.POINTER(ctypes.c_size_t), _JSValue, ctypes.c_int]
    _lib.JS_ToCStringLen2.restype = _vp
    _lib.JS_FreeCString.argtypes = [_vp, _vp]
    _lib.JS_FreeCString.restype = None
    _lib.JS_UpdateStackTop.argtypes = [_vp]
    _lib.JS_UpdateStackTop.restype = None
    available = True
except (OSError, AttributeError):  # another build of the binding: callers fall back to eval
    available = False

_COMPILER_MEMORY_LIMIT = 64 * 1024 * 1024
_compile_lock = threading.Lock()
_compiler: _quickjs.Context | None = None


_pythonapi = ctypes.pythonapi
_pythonapi.PyThreadState_Get.restype = ctypes.c_void_p
_pythonapi.PyThreadState_Get.argtypes = []
_pythonapi.Py_IncRef.restype = None
_pythonapi.Py_IncRef.argtypes = [ctypes.py_object]
#: module.c `RuntimeData`: {PyObject_HEAD; JSRuntime *runtime; JSContext *context; int has_time_limit;
#: clock_t time_limit; PyThreadState *thread_state; ...} -> thread_state is 4 words after the head
_THREAD_STATE_OFFSET = 4 * ctypes.sizeof(ctypes.c_void_p)


def _pointers(ctx: _quickjs.Context) -> tuple[int, int]:
    """(JSRuntime*, JSContext*) of a binding Context: `{PyObject_HEAD; JSRuntime*; JSContext*}`."""
    base = id(ctx) + object.__basicsize__
    runtime = ctypes.c_void_p.from_address(base).value
    context = ctypes.c_void_p.from_address(base + 8).value
    if not runtime or not context:
        raise RuntimeError("the quickjs binding's Context has no runtime/context pointer")
    return runtime, context


def _thread_state_slot(ctx: _quickjs.Context) -> ctypes.c_void_p:
    return ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__ + _THREAD_STATE_OFFSET)


def _to_text(cp: int, value: _JSValue) -> str:
    size = ctypes.c_size_t()
    raw = _lib.JS_ToCStringLen2(cp, ctypes.byref(size), value, 0)
    if not raw:
        return "null"
    try:
        return ctypes.string_at(raw, size.value).decode("utf-8", "replace")
    finally:
        _lib.JS_FreeCString(cp, raw)


def _compiler_context() -> int:
    """JSContext* of the process-wide compiling context (call with `_compile_lock` held).

    Only compiles happen there (nothing runs), under the datamodel's default memory limit so a
    pathological source fails instead of exhausting the process.
    """
    global _compiler
    if _compiler is None:
        _compiler = _quickjs.Context()
        _compiler.set_memory_limit(_COMPILER_MEMORY_LIMIT)
    rt, cp = _pointers(_compiler)
    _lib.JS_UpdateStackTop(rt)
    return cp


def compile_uncached(source: str, filename: str = "<input>", strip_source: bool = False) -> bytes | None:
    """Bytecode of `source` as a global program (not cached), or None if it does not compile.

    `strip_source` leaves the source text out (smaller; `Function.prototype.toString` of its
    functions then shows no body): for private code only, never for the document's.
    """
    if not available:
        return None
    data = source.encode("utf-8")
    with _compile_lock:
        cp = _compiler_context()
        fn = _lib.JS_Eval(cp, data, len(data), filename.encode(), _EVAL_TYPE_GLOBAL | _EVAL_FLAG_COMPILE_ONLY)
        if fn.tag == _TAG_EXCEPTION:
            _lib.JS_FreeValue(cp, _lib.JS_GetException(cp))
            return None
        try:
            if fn.tag != _TAG_FUNCTION_BYTECODE:
                return None
            size = ctypes.c_size_t()
            flags = _WRITE_OBJ_BYTECODE | (_WRITE_OBJ_STRIP_SOURCE if strip_source else 0)
            buf = _lib.JS_WriteObject(cp, ctypes.byref(size), fn, flags)
            if not buf:
                _lib.JS_FreeValue(cp, _lib.JS_GetException(cp))
                return None
            try:
                return ctypes.string_at(buf, size.value)
            finally:
                _lib.js_free(cp, buf)
        finally:
            _lib.JS_FreeValue(cp, fn)


@lru_cache(maxsize=1024)
def compile_program(source: str, strip_source: bool = False, filename: str = "<input>") -> bytes | None:
    """Bytecode of `source` as a global program, or None if it does not compile (process-wide
    cache, keyed by source and filename: stack traces name the filename)."""
    return compile_uncached(source, filename, strip_source)


@lru_cache(maxsize=4096)
def syntax_ok(source: str) -> bool:
    """Whether `source` compiles as a global program. Only compiles (nothing runs); cached."""
    if not available:
        raise RuntimeError("QuickJS bytecode API unavailable")
    data = source.encode("utf-8")
    with _compile_lock:
        cp = _compiler_context()
        fn = _lib.JS_Eval(cp, data, len(data), b"<input>", _EVAL_TYPE_GLOBAL | _EVAL_FLAG_COMPILE_ONLY)
        if fn.tag == _TAG_EXCEPTION:
            _lib.JS_FreeValue(cp, _lib.JS_GetException(cp))
            return False
        _lib.JS_FreeValue(cp, fn)
        return True


def _execute(ctx: _quickjs.Context, code: bytes) -> tuple[int, _JSValue]:
    """Read and run `code` in `ctx`: (JSContext*, completion value), or raise the JS exception."""
    rt, cp = _pointers(ctx)
    _lib.JS_UpdateStackTop(rt)
    fn = _lib.JS_ReadObject(cp, code, len(code), _READ_OBJ_BYTECODE)
    if fn.tag != _TAG_EXCEPTION:
        # The binding's Python callbacks re-take the GIL from RuntimeData.thread_state, which its
        # own eval() sets when it releases the GIL. ctypes releases the GIL with the current thread
        # state, so publish that same state there for the duration of the call (then clear it, as
        # the binding does), and callbacks work exactly as under eval().
        slot = _thread_state_slot(ctx)
        outer = slot.value
        slot.value = _pythonapi.PyThreadState_Get()
        try:
            result = _lib.JS_EvalFunction(cp, fn)  # consumes fn; releases the GIL while JS runs
        finally:
            slot.value = outer
        if result.tag != _TAG_EXCEPTION:
            return cp, result
    error = _lib.JS_GetException(cp)
    try:
        text = _to_text(cp, error)
        stack = _lib.JS_GetPropertyStr(cp, error, b"stack")
        try:
            text += "\n" + _to_text(cp, stack)
        finally:
            _lib.JS_FreeValue(cp, stack)
    finally:
        _lib.JS_FreeValue(cp, error)
    raise _quickjs.JSException(text)


def run_program(ctx: _quickjs.Context, code: bytes) -> None:
    """Run compiled `code` in `ctx` (global scope); JS exceptions raise ``_quickjs.JSException``."""
    cp, result = _execute(ctx, code)
    _lib.JS_FreeValue(cp, result)


def load_value(ctx: _quickjs.Context, code: bytes) -> _quickjs.Object | None:
    """Run compiled `code` in `ctx`; its completion value if it is an object (else None).

    The value is wrapped exactly as the binding's ``quickjs_to_python`` does (module.c
    `ObjectData {PyObject_HEAD; RuntimeData *runtime_data; JSValue object;}`, holding a reference
    to the context), so it can be called like any function ``ctx.eval`` returns.
    """
    cp, result = _execute(ctx, code)
    if result.tag != _TAG_OBJECT:
        _lib.JS_FreeValue(cp, result)
        return None
    wrapper = _quickjs.Object()
    base = id(wrapper) + object.__basicsize__
    _pythonapi.Py_IncRef(ctx)  # the wrapper keeps its context alive, as the binding's own do
    ctypes.c_void_p.from_address(base).value = id(ctx)
    ctypes.memmove(base + ctypes.sizeof(ctypes.c_void_p), ctypes.addressof(result), ctypes.sizeof(_JSValue))
    return wrapper  # owns `result` now: freed by the wrapper's dealloc


def _self_test() -> bool:
    """Whether values loaded from bytecode behave as the binding's own (layout check at import)."""
    if not available:
        return False
    try:
        ctx = _quickjs.Context()
        code = compile_uncached("(function (a) { return [a, 42]; })")
        fn = load_value(ctx, code) if code else None
        return fn is not None and fn(1).json() == "[1,42]"
    except Exception:  # any failure means: do not use load_value
        return False


#: False if load_value cannot be trusted with this build of the binding (callers then compile).
values_available = _self_test()
