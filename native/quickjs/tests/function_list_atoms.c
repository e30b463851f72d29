/* Function-list atoms made once per runtime, JSON strings quoted in place, and a context that
 * could not be made unlinked (patches/96-function-list-atoms.patch, 97-json-quote-in-place.patch,
 * 98-new-context-out-of-memory.patch) under ASan/UBSan, with QuickJS's assertions on: run by
 * function_list_atoms.sh. Not part of the build or the test suite; the C side of
 * tests/native/test_function_list_atoms.py and test_json_quote.py (JS_FreeRuntime's leak
 * assertion, every allocation refused in turn).
 *
 * 1. Runtimes (with two embedder classes, as the binding's) make contexts of every kind (lazy,
 *    eager, es5 as the binding makes it) in sequence and side by side; each one's built-ins (every
 *    object reachable from the global object: keys, attributes, values, prototypes) are the
 *    first context's of that kind; the contexts are freed in three orders.
 * 2. JSON.stringify of generated strings (narrow, wide, pairs, lone surrogates, control
 *    characters, ropes) as values and keys, indented or not, equals a quoting written in JS
 *    (charCodeAt, no JSON).
 * 3. Out of memory: for every limit in [0, TO) step STEP, a context is made in a runtime limited
 *    to it (fails or is whole), and beside a first context with that much headroom; then, with
 *    the limit lifted and a collection, a new context's built-ins are whole. JSON.stringify of a
 *    large object under every headroom: the exact text or out of memory, then the exact text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"
#include "harness.h"
#include "es5_context.h"

static const char WALK[] =
    "(function () {\n"
    "  var seenObj = [globalThis], seenPath = ['globalThis'], queue = [[globalThis, 'globalThis']], out = [];\n"
    "  function id(o, path) { var i = seenObj.indexOf(o);\n"
    "    if (i < 0) { seenObj.push(o); seenPath.push(path); queue.push([o, path]); return path; } return seenPath[i]; }\n"
    "  function show(v, path) { var t = typeof v;\n"
    "    if (v === null || (t !== 'object' && t !== 'function')) return t === 'symbol' ? String(v) : t + ':' + String(v);\n"
    "    return '@' + id(v, path); }\n"
    "  while (queue.length) {\n"
    "    var item = queue.shift(), o = item[0], path = item[1];\n"
    "    out.push(path + ' proto=' + show(Object.getPrototypeOf(o), path + '.__proto__') + ' ext=' + Object.isExtensible(o));\n"
    "    Reflect.ownKeys(o).forEach(function (k) {\n"
    "      var d = Object.getOwnPropertyDescriptor(o, k), name = typeof k === 'symbol' ? String(k) : k, p = path + '.' + name;\n"
    "      out.push('  ' + name + ' ' + (d.enumerable ? 'e' : '') + (d.configurable ? 'c' : '') +\n"
    "               ('value' in d ? (d.writable ? 'w ' : ' ') + (k === 'timeOrigin' ? typeof d.value : show(d.value, p))\n"
    "                             : ' get=' + show(d.get, p + '<get>') + ' set=' + show(d.set, p + '<set>')));\n"
    "    });\n"
    "  }\n"
    "  return out.join('\\n');\n"
    "})()";

static JSClassID class_a, class_b;
static JSClassDef def_a = {"PythonFunction"}, def_b = {"RecordMemo"};

static JSRuntime *new_runtime(void) {
    JSRuntime *rt = JS_NewRuntime();
    JS_NewClassID(rt, &class_a);
    JS_NewClass(rt, class_a, &def_a);
    JS_NewClassID(rt, &class_b);
    JS_NewClass(rt, class_b, &def_b);
    return rt;
}

enum { LAZY, EAGER, ES5, KINDS };

static JSContext *new_context(JSRuntime *rt, int kind) {
    if (kind == LAZY) return JS_NewContextLazy(rt);
    if (kind == EAGER) return JS_NewContext(rt);
    return new_es5_context(rt);
}

static char *reference[KINDS];

static char *built_ins(JSContext *ctx) {
    return text(ctx, JS_Eval(ctx, WALK, strlen(WALK), "<walk>", JS_EVAL_TYPE_GLOBAL));
}

static void check_built_ins(JSContext *ctx, int kind, const char *what, int i) {
    char *got = built_ins(ctx);
    int ok = strcmp(got, reference[kind]) == 0;
    if (!ok) printf("  kind %d: %.80s\n", kind, got);
    check(ok, what, i);
    free(got);
}

static void shared_runtimes(void) {
    /* the references: a fresh runtime per kind, its first context */
    for (int k = 0; k < KINDS; k++) {
        JSRuntime *rt = new_runtime();
        JSContext *ctx = new_context(rt, k);
        reference[k] = built_ins(ctx);
        check(reference[k][0] != '!' && strlen(reference[k]) > 10000, "reference", k);
        JS_FreeContext(ctx);
        JS_FreeRuntime(rt);
    }
    static const int orders[][6] = {{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {3, 0, 5, 1, 4, 2}};
    for (int r = 0; r < 3; r++) {
        JSRuntime *rt = new_runtime();
        JSContext *ctx[6];
        for (int i = 0; i < 6; i++) {
            ctx[i] = new_context(rt, (i + r) % KINDS);
            if (i == 2) {  /* one made and freed before the next: its atoms were the first */
                JS_FreeContext(ctx[0]);
                JS_RunGC(rt);
                ctx[0] = new_context(rt, r % KINDS);
            }
        }
        for (int i = 0; i < 6; i++)
            check_built_ins(ctx[i], i == 0 ? r % KINDS : (i + r) % KINDS, "built-ins", r * 10 + i);
        for (int i = 0; i < 6; i++)
            JS_FreeContext(ctx[orders[r][i]]);
        JS_FreeRuntime(rt);
    }
}

/* JSON.stringify against a quoting in JS, for generated strings as values and keys */
static const char QUOTING[] =
    "function ref(s) { var out = '\"';\n"
    "  for (var i = 0; i < s.length; i++) { var c = s.charCodeAt(i), n = s.charCodeAt(i + 1);\n"
    "    if (c >= 0xD800 && c < 0xDC00 && n >= 0xDC00 && n < 0xE000) { out += s[i] + s[i + 1]; i++; continue; }\n"
    "    var e = {8: '\\\\b', 9: '\\\\t', 10: '\\\\n', 12: '\\\\f', 13: '\\\\r', 34: '\\\\\"', 92: '\\\\\\\\'}[c];\n"
    "    if (e) out += e;\n"
    "    else if (c < 32 || (c >= 0xD800 && c < 0xE000)) out += '\\\\u' + ('000' + c.toString(16)).slice(-4);\n"
    "    else out += s[i];\n"
    "  } return out + '\"'; }\n"
    "var seed = 97; function rnd(n) { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; }\n"
    "var pools = [[32, 127], [128, 256], [0, 32], [34, 35], [92, 93], [256, 0xD800], [0xD800, 0xE000], [0xE000, 0x10000]];\n"
    "function gen() { var s = '', parts = rnd(8);\n"
    "  for (var p = 0; p < parts; p++) { var pool = pools[rnd(pools.length)], n = 1 + rnd(40);\n"
    "    for (var j = 0; j < n; j++) s += String.fromCharCode(pool[0] + rnd(pool[1] - pool[0])); }\n"
    "  return s; }\n"
    "function quoting(count) { for (var i = 0; i < count; i++) {\n"
    "    var s = gen(), o = {}; o[s] = s;\n"
    "    if (JSON.stringify(s) !== ref(s)) return 'value ' + i;\n"
    "    if (JSON.stringify(o) !== '{' + ref(s) + ':' + ref(s) + '}') return 'key ' + i;\n"
    "    if (JSON.stringify(o, null, 1) !== '{\\n ' + ref(s) + ': ' + ref(s) + '\\n}') return 'indented ' + i;\n"
    "  }\n"
    "  var rope = ''; for (var i = 0; i < 2000; i++) rope += gen();\n"
    "  if (JSON.stringify([rope]) !== '[' + ref(rope) + ']') return 'rope';\n"
    "  return 'quoted'; }\n"
    "'defined'";

static void quoting(void) {
    JSRuntime *rt = new_runtime();
    JSContext *ctx = JS_NewContext(rt);
    check(eval_is(ctx, QUOTING, "defined"), "define quoting", 0);
    check(eval_is(ctx, "quoting(4000)", "quoted"), "quoting", 0);
    JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
}

static size_t used(JSRuntime *rt) {
    JSMemoryUsage u; JS_ComputeMemoryUsage(rt, &u); return (size_t)u.malloc_size;
}

static void out_of_memory(long to, long step) {
    int made = 0, refused = 0, ok = 0, oom = 0;
    for (long lim = 0; lim < to; lim += step) {
        int kind = (int)(lim / step) % KINDS;
        /* alone in a runtime limited to lim bytes */
        JSRuntime *rt = new_runtime();
        JS_SetMemoryLimit(rt, lim ? lim : 1);
        JSContext *ctx = new_context(rt, kind);
        if (ctx) { made++; JS_FreeContext(ctx); } else refused++;
        JS_SetMemoryLimit(rt, (size_t)-1);
        JS_RunGC(rt);
        ctx = new_context(rt, kind);
        check_built_ins(ctx, kind, "whole after a refused context", (int)lim);
        /* beside it, with lim bytes of headroom */
        JS_RunGC(rt);
        JS_SetMemoryLimit(rt, used(rt) + lim);
        JSContext *second = new_context(rt, (kind + 1) % KINDS);
        if (second) { made++; JS_FreeContext(second); } else refused++;
        JS_SetMemoryLimit(rt, (size_t)-1);
        JS_RunGC(rt);
        check_built_ins(ctx, kind, "the first whole", (int)lim);
        second = new_context(rt, (kind + 1) % KINDS);
        check_built_ins(second, (kind + 1) % KINDS, "a second whole", (int)lim);
        JS_FreeContext(second);
        /* JSON.stringify with lim bytes of headroom */
        static const char SETUP[] =
            "var o = {}; for (var i = 0; i < 200; i++) o['key \"' + i] = 'value\\n' + i + (i % 3 ? '' : '\\u0100');"
            "var want = JSON.stringify([o, o]); 'set'";
        check(eval_is(ctx, SETUP, "set"), "json setup", (int)lim);
        JSValue run = JS_Eval(ctx, "JSON.stringify([o, o]) === want", 31, "<run>",
                              JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
        JS_RunGC(rt);
        JS_SetMemoryLimit(rt, used(rt) + lim);
        char *r = text(ctx, JS_EvalFunction(ctx, run));
        JS_SetMemoryLimit(rt, (size_t)-1);
        if (r[0] == '!') {
            oom++;
            if (!strstr(r, "out of memory") && strcmp(r, "!null") && strcmp(r, "!"))
                printf("limit %ld: %.80s\n", lim, r), failures++;
        } else {
            ok++;
            check(strcmp(r, "true") == 0, "json under the limit", (int)lim);
        }
        free(r);
        check(eval_is(ctx, "JSON.stringify([o, o]) === want", "true"), "json after", (int)lim);
        JS_FreeContext(ctx);
        JS_FreeRuntime(rt);
    }
    printf("out of memory sweep: contexts %d made, %d refused; JSON.stringify %d whole, %d out of memory\n",
           made, refused, ok, oom);
}

int main(int argc, char **argv) {
    long to = argc > 1 ? atol(argv[1]) : 160000, step = argc > 2 ? atol(argv[2]) : 211;
    setvbuf(stdout, NULL, _IOLBF, 0);
    shared_runtimes();
    printf("shared runtimes: %d failures\n", failures);
    quoting();
    printf("quoting: %d failures\n", failures);
    out_of_memory(to, step);
    for (int k = 0; k < KINDS; k++)
        free(reference[k]);
    printf("%d failures\n", failures);
    return failures != 0;
}
