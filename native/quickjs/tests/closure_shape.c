/* A normal function's shape made once per context (patches/95-closure-shape.patch) under
 * ASan/UBSan, with QuickJS's assertions on: run by closure_shape.sh. Not part of the build or
 * the test suite; the C side of tests/native/test_closure_shape.py (what the binding cannot
 * reach: contexts freed in any order with functions of each still held by the others,
 * JS_FreeRuntime's leak assertion, out of memory at every step).
 *
 * 1. Three contexts of one runtime (lazy, eager, lazy) make functions of every kind (declared,
 *    expressions, named and not, arrows, methods, closures over variables, generators, async)
 *    and check each one's own properties, attributes, order, values, constructor bit, lazy
 *    prototype and realm; functions of one context are kept by another; the contexts are freed
 *    in three orders: JS_FreeRuntime asserts nothing is left.
 * 2. Out of memory: for every limit in [0, TO) step STEP above a context's usage, a script makes
 *    and touches functions under the limit; with the limit lifted, the same checks pass in that
 *    context (its first function made after the failure included). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"
#include "harness.h"

#define CONTEXTS 3

/* `shape(f)`: f's own properties with their attributes and values, in order */
static const char DEFINE[] =
    "function shape(f) { return Object.getOwnPropertyNames(f).map(function (k) {\n"
    "  var d = Object.getOwnPropertyDescriptor(f, k);\n"
    "  return k + ':' + (d.writable ? 'w' : '') + (d.enumerable ? 'e' : '') + (d.configurable ? 'c' : '')\n"
    "    + (k === 'prototype' ? '' : '=' + String(d.value)); }).join(' '); }\n"
    "function declared(a, b) { return a + b; }\n"
    "var made = [];\n"
    "function make(n) {\n"
    "  for (var i = 0; i < n; i++) {\n"
    "    var captured = i;\n"
    "    made.push(function (x) { return x + captured; }, function named(x, y, z) {}, () => captured,\n"
    "              ({m(a) { return a; }}).m, function* g(a) {}, async function as() {});\n"
    "  }\n"
    "  return made.length;\n"
    "}\n"
    "var EXPECTED = ['length:c=1 name:c= prototype:w', 'length:c=3 name:c=named prototype:w', 'length:c=0 name:c=',\n"
    "                'length:c=1 name:c=m', 'length:c=1 name:c=g prototype:w', 'length:c=0 name:c=as'];\n"
    "function whole(list, realmObject) {\n"
    "  if (shape(declared) !== 'length:c=2 name:c=declared prototype:w') return 'declared: ' + shape(declared);\n"
    "  for (var i = 0; i < list.length; i++) {\n"
    "    var f = list[i], want = EXPECTED[i % 6], s = shape(f);\n"
    "    if (s !== want) return i + ': ' + s;\n"
    "    if (i % 6 < 2) {\n"
    "      var p = f.prototype;\n"
    "      if (p !== f.prototype || p.constructor !== f || Object.getPrototypeOf(p) !== realmObject) return i + ': prototype';\n"
    "      if (!(new f() instanceof f)) return i + ': new';\n"
    "    }\n"
    "    if (i % 6 === 2 || i % 6 === 3) { try { new f(); return i + ': constructed'; } catch (e) {} }\n"
    "    if (i % 6 === 0 && f(1) !== 1 + f(0)) return i + ': call';\n"
    "  }\n"
    "  return 'whole';\n"
    "}\n"
    "'defined'";

static const char EDIT[] =
    /* one function's properties changed: the others (sharing its shape) keep theirs */
    "var a = made[0], b = made[6];\n"
    "delete a.name; a.extra = 1; Object.defineProperty(a, 'length', {value: 9});\n"
    "var ok = shape(a) === 'length:c=9 prototype:w extra:wec=1' && shape(b) === EXPECTED[0];\n"
    "made[0] = function (x) { return x + 0; };\n"
    "ok ? 'edited' : shape(a) + ' / ' + shape(b)";

static void one_runtime(const int *order) {
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx[CONTEXTS];
    for (int i = 0; i < CONTEXTS; i++) {
        ctx[i] = i == 1 ? JS_NewContext(rt) : JS_NewContextLazy(rt);
        check(eval_is(ctx[i], DEFINE, "defined"), "define", i);
        check(eval_is(ctx[i], "make(20)", "120"), "make", i);
        check(eval_is(ctx[i], "whole(made, Object.prototype)", "whole"), "whole", i);
        check(eval_is(ctx[i], EDIT, "edited"), "edit", i);
        check(eval_is(ctx[i], "whole(made, Object.prototype)", "whole"), "whole after an edit", i);
    }
    /* each context keeps the next one's functions, some with their prototypes never made */
    for (int i = 0; i < CONTEXTS; i++) {
        JSContext *other = ctx[(i + 1) % CONTEXTS];
        JSValue theirs = JS_Eval(other, "make(3); made", 13, "<made>", JS_EVAL_TYPE_GLOBAL);
        JSValue global = JS_GetGlobalObject(ctx[i]);
        JS_SetPropertyStr(ctx[i], global, "theirs", theirs);
        JS_FreeValue(ctx[i], global);
        check(eval_is(ctx[i], "Object.getPrototypeOf(theirs[0].prototype) !== Object.prototype", "true"),
              "the other realm's prototype", i);
    }
    for (int i = 0; i < CONTEXTS; i++)
        JS_FreeContext(ctx[order[i]]);
    JS_FreeRuntime(rt);
}

static size_t used(JSRuntime *rt) {
    JSMemoryUsage u; JS_ComputeMemoryUsage(rt, &u); return (size_t)u.malloc_size;
}

static const char PREPARE[] =
    "Object.getOwnPropertyNames; Object.getOwnPropertyDescriptor; Object.getPrototypeOf; [].map; [].join; [].push;\n"
    "Error.prototype.toString; InternalError.prototype.name; String; 0";

static void out_of_memory(long to, long step) {
    int outcomes[2] = {0, 0};
    for (long lim = 0; lim < to; lim += step) {
        JSRuntime *rt = JS_NewRuntime();
        JSContext *ctx = JS_NewContextLazy(rt);
        check(eval_is(ctx, DEFINE, "defined"), "define", (int)lim);
        free(text(ctx, JS_Eval(ctx, PREPARE, strlen(PREPARE), "<prepare>", JS_EVAL_TYPE_GLOBAL)));
        JSValue run = JS_Eval(ctx, "make(10); made.forEach(function (f) { f.prototype; }); 'made'", 61, "<run>",
                              JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
        JS_RunGC(rt);
        JS_SetMemoryLimit(rt, used(rt) + lim);
        char *r = text(ctx, JS_EvalFunction(ctx, run));
        JS_SetMemoryLimit(rt, (size_t)-1);
        int failed = r[0] == '!';
        outcomes[failed]++;
        if (failed ? !strstr(r, "out of memory") && strcmp(r, "!InternalError") && strcmp(r, "!null") && strcmp(r, "!")
                   : strcmp(r, "made") != 0)
            printf("limit %ld: %.80s\n", lim, r), failures++;
        free(r);
        /* what was made under the limit, and what is made now, is whole */
        check(eval_is(ctx, "made.length = made.length - made.length % 6; make(2); whole(made, Object.prototype)", "whole"),
              "whole after out of memory", (int)lim);
        JS_FreeContext(ctx);
        JS_FreeRuntime(rt);
    }
    printf("out of memory sweep: %d whole, %d out of memory\n", outcomes[0], outcomes[1]);
}

int main(int argc, char **argv) {
    long to = argc > 1 ? atol(argv[1]) : 40000, step = argc > 2 ? atol(argv[2]) : 13;
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const int orders[][CONTEXTS] = {{0, 1, 2}, {2, 1, 0}, {1, 0, 2}};
    for (int r = 0; r < 3; r++)
        one_runtime(orders[r]);
    printf("shared runs: %d failures\n", failures);
    out_of_memory(to, step);
    printf("%d failures\n", failures);
    return failures != 0;
}
