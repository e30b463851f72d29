"""Context.run_bytecode(code, share=True): functions read from bytecode keep their source text and
line tables in `code` itself (patches/20-shared-source.patch, JS_READ_OBJ_SHARED_BUF) instead of a
copy per context; the runtime keeps `code` alive until it is freed.

The contract pinned here: everything JS can see is the same as with a copied read and as with
parsing the text (`Function.prototype.toString` byte for byte, error positions and stacks), the
bytes live exactly as long as some runtime that read them, and a damaged buffer is refused.
"""

from __future__ import annotations

import gc
import json
import sys

import orchweb_quickjs
import pytest

from tests.native.bytecode import compiled

# Every kind of function whose text toString prints, with non-ASCII text (UTF-8 in the bytecode).
LIBRARY = """var lib = {};
lib.plain = function plain(a, b) { return a + b; /* é ✓ 𝄞 */ };
lib.arrow = (x) => x * 2;
lib.gen = function* gen() { yield 1; };
lib.asyncFn = async function asyncFn() { return await 1; };
lib.obj = { method(a) { return a; }, get prop() { return 'ü'; } };
class Shape { constructor(n) { this.n = n; } area() { return this.n; } static make() { return new Shape(1); } }
lib.Shape = Shape;
function outer() {
  function inner(q) {
    return q === undefined ? 'none' : q; // «inner»
  }
  return inner;
}
lib.inner = outer();
lib.outer = outer;
lib.fail = function fail(depth) {
  if (depth > 0) return lib.fail(depth - 1);
  return missing.value;
};
"""

FUNCTIONS = [
    "lib.plain", "lib.arrow", "lib.gen", "lib.asyncFn", "lib.obj.method",
    "Object.getOwnPropertyDescriptor(lib.obj, 'prop').get", "lib.Shape", "lib.Shape.prototype.area",
    "lib.Shape.make", "lib.inner", "lib.outer", "lib.fail",
]  # fmt: skip


def references(code: bytes) -> int:
    """References to `code`, once the runtimes of earlier tests' contexts were collected."""
    gc.collect()
    return sys.getrefcount(code)


def texts(ctx) -> list[str]:
    return json.loads(ctx.eval(f"JSON.stringify([{', '.join(FUNCTIONS)}].map(String))"))


def stack(ctx) -> str:
    return ctx.eval("(function () { try { lib.fail(2); } catch (e) { return e.stack; } })()")


@pytest.fixture(scope="module")
def code() -> bytes:
    return compiled(LIBRARY, "library.js")


def parsed() -> orchweb_quickjs.Context:
    """A context that parsed LIBRARY as library.js (the reference: no bytecode involved)."""
    ctx = orchweb_quickjs.Context()
    ctx.run_bytecode(ctx.compile(LIBRARY, "library.js"))  # compiled here, read with a copy
    return ctx


def test_to_string_is_byte_identical_to_the_source_and_to_a_copied_read(code):
    reference = parsed()
    ctx = orchweb_quickjs.Context()
    try:
        ctx.run_bytecode(code, share=True)
        shown = texts(ctx)
        assert shown == texts(reference)
        assert all(text in LIBRARY for text in shown)  # the exact slices of the source
        assert shown[0] == "function plain(a, b) { return a + b; /* é ✓ 𝄞 */ }"
        assert shown[9].startswith("function inner(q) {\n") and shown[9].endswith("// «inner»\n  }")
        # String(fn) builds a new string each time: the slices are never modified in place
        utf16_length = len(shown[0].encode("utf-16-le")) // 2
        assert ctx.eval("String(lib.plain) === String(lib.plain) && String(lib.plain).length") == utf16_length
    finally:
        ctx.close()
        reference.close()


def test_error_positions_and_stacks_are_those_of_the_source(code):
    reference = parsed()
    ctx = orchweb_quickjs.Context()
    try:
        ctx.run_bytecode(code, share=True)
        assert stack(ctx) == stack(reference)
        assert "library.js:19:" in stack(ctx) and stack(ctx).count("at fail (library.js:") == 3
        with pytest.raises(orchweb_quickjs.JSException) as shared_error:
            ctx.eval("lib.fail(0)")
        with pytest.raises(orchweb_quickjs.JSException) as reference_error:
            reference.eval("lib.fail(0)")
        assert str(shared_error.value) == str(reference_error.value)
    finally:
        ctx.close()
        reference.close()


def test_many_contexts_of_one_runtime_read_one_buffer_kept_once(code):
    runtime = orchweb_quickjs.Runtime()
    before = references(code)
    contexts = [orchweb_quickjs.Context(runtime) for _ in range(20)]
    for ctx in contexts:
        ctx.run_bytecode(code, share=True)
        ctx.eval("lib.plain.marker = Math.random();")  # each context has its own functions
    assert references(code) == before + 1  # one reference for the runtime
    reference = texts(contexts[0])
    for ctx in contexts:
        assert texts(ctx) == reference
    assert contexts[0].eval("lib.plain.marker") != contexts[1].eval("lib.plain.marker")
    for ctx in contexts:
        ctx.close()
    runtime.gc()
    assert references(code) == before + 1  # until the runtime is freed
    del contexts, ctx
    del runtime
    gc.collect()
    assert references(code) == before


def test_the_runtime_keeps_the_bytes_when_nothing_else_does():
    compiler = orchweb_quickjs.Context()
    source = "(function keep() { return 'kept: ' + 'x'.repeat(3); /* " + "y" * 5000 + " */ })"
    code = compiler.compile(source, "keep.js")
    compiler.close()
    ctx = orchweb_quickjs.Context()
    fn = ctx.run_bytecode(code, share=True)
    del code
    gc.collect()
    orchweb_quickjs.Context().compile("'z'.repeat(100000)")  # reuse freed memory, were it freed
    assert fn() == "kept: xxx"
    assert ctx.eval("String") is not None
    ctx.set("f", fn)
    assert ctx.eval("String(f)") == source[1:-1]


def test_a_function_outlives_its_context_but_not_its_runtime(code):
    runtime = orchweb_quickjs.Runtime()
    before = references(code)
    first, second = orchweb_quickjs.Context(runtime), orchweb_quickjs.Context(runtime)
    first.run_bytecode(code, share=True)
    second.run_bytecode(code, share=True)
    # The first context's functions form cycles with its globals: closing it leaves them to the
    # runtime's collector, which frees them (their shared text is not freed with them).
    first.eval("globalThis.self = globalThis; lib.cycle = lib;")
    first.close()
    assert texts(second)[0] == "function plain(a, b) { return a + b; /* é ✓ 𝄞 */ }"
    runtime.gc()
    assert stack(second).count("at fail (library.js:") == 3
    # A function the embedder holds keeps its context, and that its runtime, and that the bytes.
    held = second.eval("lib.inner")
    del first, second, runtime
    gc.collect()
    assert references(code) == before + 1
    assert held() == "none" and held(7) == 7
    del held
    gc.collect()
    assert references(code) == before


def test_contexts_of_many_runtimes_each_keep_the_bytes(code):
    before = references(code)
    contexts = [orchweb_quickjs.Context() for _ in range(10)]
    for ctx in contexts:
        ctx.run_bytecode(code, share=True)
    assert references(code) == before + 10
    assert all(texts(ctx) == texts(contexts[0]) for ctx in contexts)
    del contexts, ctx
    gc.collect()
    assert references(code) == before


def test_the_shared_text_is_not_on_the_runtime_heap(code):
    big = "var big = function () {\n" + "  var v = 1; // some text to print\n" * 2000 + "  return v;\n};\n"
    big_code = compiled(big, "big.js")
    heaps = {}
    for share in (False, True):
        ctx = orchweb_quickjs.Context()
        empty = ctx.memory()["malloc_size"]
        ctx.run_bytecode(big_code, share=share)
        heaps[share] = ctx.memory()["malloc_size"] - empty
        assert ctx.eval("String(big)") == big[len("var big = ") : -2]
        ctx.close()
    # the copy of the text, not counted any more (the shared read also keeps the program's top
    # level, ~100 bytes, which a copied read frees once it ran: patches/40-realm-free-bytecode.patch)
    assert heaps[False] - heaps[True] >= len(big) - 200


def test_only_bytes_can_be_shared_and_a_damaged_buffer_is_refused(code):
    ctx = orchweb_quickjs.Context()
    try:
        with pytest.raises(TypeError):
            ctx.run_bytecode(bytearray(code), share=True)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            ctx.run_bytecode(memoryview(code), share=True)  # type: ignore[arg-type]
        # Every truncation ends inside some length-prefixed part, the texts included: refused.
        for end in range(len(code) - 1, 0, -7):
            with pytest.raises(orchweb_quickjs.JSException):
                ctx.run_bytecode(code[:end], share=True)
        ctx.run_bytecode(code, share=True)
        assert texts(ctx)[1] == "(x) => x * 2"
    finally:
        ctx.close()
