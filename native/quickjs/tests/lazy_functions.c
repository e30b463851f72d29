/* Lazy global functions (patches/50-lazy-global-functions.patch) under ASan/UBSan, with
 * QuickJS's assertions on: run by lazy_functions.sh. Not part of the build or the test suite;
 * the C side of tests/native/test_lazy_global_functions.py (what the binding cannot reach:
 * promise and finalizer jobs, the interrupt handler, JS_FreeRuntime's leak assertion).
 *
 * 1. A library declaring global functions (plain, generator, async, async generator) is read
 *    once per runtime, made realm-free and evaluated by 3 contexts (lazy and eager intrinsics).
 *    Each context makes its functions on first touch from a promise job, a FinalizationRegistry
 *    callback, a resumed generator, a getter and a Proxy trap, and checks identity, realm and
 *    prototypes; the same function of two contexts is two objects. Contexts are freed in several
 *    orders with functions never touched, the read last: JS_FreeRuntime asserts nothing is left.
 * 2. Out of memory: for every limit in [0, TO) step STEP above the library's usage, every
 *    function is touched under the limit (the declarations too, in a second context); with the
 *    limit lifted, every function is whole and the same object as any made before.
 * 3. Interrupted: the interrupt handler stops a loop touching the functions after 1..40 polls;
 *    afterwards every function is whole and the same object as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"
#include "harness.h"

static const char LIBRARY[] =
    "var early = typeof untouched + typeof f0;\n"
    "function plain(a, b) { return [typeof later, a + b]; }\n"
    "function* gen() { yield typeof f1; return f1 === globalThis.f1; }\n"
    "async function later() { await null; return [f2 === globalThis.f2, typeof f3]; }\n"
    "async function* agen() { yield f4; }\n"
    "function Shape(n) { this.n = n; }\n"
    "function untouched() { return 'untouched'; }\n"
    "function f0() { return 0; } function f1() { return 1; } function f2() { return 2; }\n"
    "function f3() { return 3; } function f4() { return 4; } function f5() { return 5; }\n"
    "function f6() { return 6; } function f7() { return 7; } function f8() { return 8; }\n"
    "early\n";

#define NAMES "['plain', 'gen', 'later', 'agen', 'Shape', 'untouched', 'f0', 'f1', 'f2', 'f3', " \
              "'f4', 'f5', 'f6', 'f7', 'f8']"

/* true when every function is whole: own, enumerable, writable, not configurable, callable,
   its name, of this realm, and `made[k]` (if any) is still the same object */
static const char WHOLE[] =
    "(function (g) { var names = " NAMES ", ok = true;\n"
    "  for (var i = 0; i < names.length; i++) { var k = names[i], d = Object.getOwnPropertyDescriptor(g, k);\n"
    "    ok = ok && d && d.enumerable && d.writable && !d.configurable && typeof d.value === 'function'\n"
    "      && d.value === g[k] && d.value.name === k\n"
    "      && (Object.getPrototypeOf(d.value) === Function.prototype || k === 'gen' || k === 'later' || k === 'agen')\n"
    "      && (typeof made === 'undefined' || !(k in made) || made[k] === d.value); }\n"
    "  return ok && f8() === 8 && untouched() === 'untouched'\n"
    "    && Object.keys(g).filter(function (k) { return names.indexOf(k) >= 0; }).join() === names.join(); })(this)";

static char *eval_text(JSContext *ctx, const char *code) {
    return text(ctx, JS_Eval(ctx, code, strlen(code), "<run>", JS_EVAL_TYPE_GLOBAL));
}

static void run_jobs(JSRuntime *rt) {
    JSContext *job_ctx;
    while (JS_ExecutePendingJob(rt, &job_ctx) > 0) {}
}

enum { CONTEXTS = 3 };

static void one_runtime(const uint8_t *code, size_t len, const int *order) {
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx[CONTEXTS];
    JSValue shared = JS_UNDEFINED;
    for (int i = 0; i < CONTEXTS; i++) {
        ctx[i] = (i % 2) ? JS_NewContext(rt) : JS_NewContextLazy(rt);
        if (i == 0) {
            shared = JS_ReadObject(ctx[0], code, len, JS_READ_OBJ_BYTECODE | JS_READ_OBJ_SHARED_BUF);
            check(JS_MakeRealmFree(ctx[0], shared), "library realm-free", 0);
        }
        char *r = text(ctx[i], JS_EvalFunction(ctx[i], JS_DupValue(ctx[i], shared)));
        check(strcmp(r, "functionfunction") == 0, "hoisted", i);
        free(r);
    }
    for (int i = 0; i < CONTEXTS; i++) {
        /* first touches from jobs, a finalizer, a generator, a getter and a Proxy trap */
        free(eval_text(ctx[i],
            "var made = {}, out = [];\n"
            "later().then(function (v) { out.push('job ' + v); made.f2 = f2; made.f3 = f3; made.later = later; });\n"
            "var fr = new FinalizationRegistry(function (h) { out.push('finalizer ' + typeof f5 + ' ' + h); made.f5 = f5; });\n"
            "(function () { fr.register({}, 'held'); })();\n"
            "var g = gen(); made.gen = gen; out.push('gen ' + g.next().value); made.f1 = f1;\n"
            "agen().next().then(function (r) { made.f4 = r.value; made.agen = agen; out.push('agen ' + (r.value === f4)); });\n"
            "Object.defineProperty(globalThis, 'viaGetter', {get: function () { return f6; }});\n"
            "var p = new Proxy({}, {get: function (t, k) { return globalThis[k]; }});\n"
            "made.f6 = viaGetter; made.f7 = p.f7;"));
        JS_RunGC(rt);
        run_jobs(rt);
        check(eval_is(ctx[i], "out.push('resumed ' + g.next().value); out.sort().join('; ')",
                      "agen true; finalizer function held; gen function; job true,function; resumed true"),
              "first touches in jobs, finalizer, generator", i);
        check(eval_is(ctx[i], WHOLE, "true"), "whole after first touches", i);
        check(eval_is(ctx[i], "var s = new Shape(3); [s instanceof Shape, Shape.prototype.constructor === Shape,"
                              " plain(1, 2).join()].join()", "true,true,function,3"), "new, instanceof", i);
    }
    /* one name, one object per context */
    JSValue g0 = JS_GetGlobalObject(ctx[0]), g1 = JS_GetGlobalObject(ctx[1]);
    JSValue a = JS_GetPropertyStr(ctx[0], g0, "f8"), b = JS_GetPropertyStr(ctx[1], g1, "f8");
    JSValue a2 = JS_GetPropertyStr(ctx[0], g0, "f8");
    check(JS_IsFunction(ctx[0], a) && JS_IsFunction(ctx[1], b) &&
          JS_VALUE_GET_PTR(a) != JS_VALUE_GET_PTR(b) && JS_VALUE_GET_PTR(a) == JS_VALUE_GET_PTR(a2),
          "a function per context", 0);
    JS_FreeValue(ctx[0], a); JS_FreeValue(ctx[0], a2); JS_FreeValue(ctx[1], b);
    JS_FreeValue(ctx[0], g0); JS_FreeValue(ctx[1], g1);
    /* a fourth context never touches anything; contexts go in `order`, the read last */
    JSContext *idle = JS_NewContextLazy(rt);
    JS_FreeValue(idle, JS_EvalFunction(idle, JS_DupValue(idle, shared)));
    for (int k = 0; k < CONTEXTS; k++) {
        JS_FreeContext(ctx[order[k]]);
        JS_RunGC(rt);
        if (k == 1)
            JS_FreeContext(idle);
    }
    JS_FreeValueRT(rt, shared);
    JS_FreeRuntime(rt);  /* asserts that nothing is left */
}

static size_t used(JSRuntime *rt) {
    JSMemoryUsage u; JS_ComputeMemoryUsage(rt, &u); return (size_t)u.malloc_size;
}

static const char TOUCH[] =
    "var names = " NAMES ", made = {};\n"
    "for (var i = 0; i < names.length; i += 2) made[names[i]] = globalThis[names[i]];\n"
    "for (var i = 1; i < names.length; i += 2) made[names[i]] = Object.getOwnPropertyDescriptor(globalThis, names[i]).value;\n"
    "'touched'";

static const char PREPARE[] =
    "Object.getOwnPropertyDescriptor; Object.getPrototypeOf; Object.keys; [].filter; [].indexOf; [].join;\n"
    "Error.prototype.toString; InternalError.prototype.name; JSON.stringify; 0";

static void out_of_memory(const uint8_t *code, size_t len, long to, long step) {
    int outcomes[2][2] = {{0, 0}, {0, 0}};
    for (long lim = 0; lim < to; lim += step) {
        JSRuntime *rt = JS_NewRuntime();
        JSContext *a = JS_NewContextLazy(rt), *b = JS_NewContextLazy(rt);
        JSValue f = JS_ReadObject(a, code, len, JS_READ_OBJ_BYTECODE | JS_READ_OBJ_SHARED_BUF);
        check(JS_MakeRealmFree(a, f), "realm-free", (int)lim);
        free(text(a, JS_EvalFunction(a, JS_DupValue(a, f))));
        /* compiled before the limit: an out-of-memory error is the touches' or the declarations' */
        JSValue touch_a = JS_Eval(a, TOUCH, strlen(TOUCH), "<touch>", JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
        JSValue touch_b = JS_Eval(b, TOUCH, strlen(TOUCH), "<touch>", JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
        /* the built-ins WHOLE uses, made before the limit: upstream QuickJS leaves a built-in
           method (an autoinit property) undefined for good when out of memory at its first
           touch (docs/performance.md, "Lazy global functions and slot programs, reviewed") */
        free(eval_text(a, PREPARE));
        free(eval_text(b, PREPARE));
        JS_RunGC(rt);
        JS_SetMemoryLimit(rt, used(rt) + lim);
        /* a: first touches under the limit; b: the declarations and first touches */
        char *ra = text(a, JS_EvalFunction(a, touch_a));
        char *rb = text(b, JS_EvalFunction(b, JS_DupValue(b, f)));
        if (rb[0] != '!') { free(rb); rb = text(b, JS_EvalFunction(b, JS_DupValue(b, touch_b))); }
        JS_FreeValue(b, touch_b);
        JS_SetMemoryLimit(rt, (size_t)-1);
        char *r[2] = {ra, rb};
        for (int n = 0; n < 2; n++) {
            int failed = r[n][0] == '!';
            outcomes[n][failed]++;
            /* "!": an error whose name and message could not be made either */
            if (failed ? !strstr(r[n], "out of memory") && strcmp(r[n], "!InternalError") && strcmp(r[n], "!null") &&
                         strcmp(r[n], "!")
                       : strcmp(r[n], "touched") != 0)
                printf("limit %ld (%s): %.80s\n", lim, n ? "declarations" : "touches", r[n]), failures++;
            free(r[n]);
        }
        check(eval_is(a, WHOLE, "true"), "whole after out of memory", (int)lim);
        /* b's script may have stopped before its declarations: then it runs again, whole */
        char *declared = eval_text(b, "typeof f8");
        int again = strcmp(declared, "function") != 0;
        free(declared);
        if (again) {
            free(text(b, JS_EvalFunction(b, JS_DupValue(b, f))));
            check(eval_is(b, "typeof f8", "function"), "declared again", (int)lim);
        }
        check(eval_is(b, WHOLE, "true"), "whole after out of memory (declared under it)", (int)lim);
        JS_FreeValueRT(rt, f);
        JS_FreeContext(b);
        JS_FreeContext(a);
        JS_FreeRuntime(rt);
    }
    printf("out of memory sweep: touches %d whole, %d out of memory; declarations %d whole, %d out of memory\n",
           outcomes[0][0], outcomes[0][1], outcomes[1][0], outcomes[1][1]);
}

static int polls_left;

static int interrupt(JSRuntime *rt, void *opaque) {
    (void)rt; (void)opaque;
    return --polls_left < 0;
}

static void interrupted(const uint8_t *code, size_t len) {
    int stopped = 0;
    for (int polls = 1; polls <= 40; polls++) {
        JSRuntime *rt = JS_NewRuntime();
        JSContext *ctx = JS_NewContextLazy(rt);
        free(text(ctx, JS_EvalFunction(ctx, JS_ReadObject(ctx, code, len, JS_READ_OBJ_BYTECODE))));
        polls_left = polls;
        JS_SetInterruptHandler(rt, interrupt, NULL);
        char *r = eval_text(ctx,
            "var names = " NAMES ", made = {};\n"
            "for (var n = 0; ; n++) { var k = names[n % names.length], f = globalThis[k];\n"
            "  if (k in made && made[k] !== f) throw new Error('changed ' + k); made[k] = f; }");
        stopped += strcmp(r, "!InternalError: interrupted") == 0;
        free(r);
        JS_SetInterruptHandler(rt, NULL, NULL);
        check(eval_is(ctx, WHOLE, "true"), "whole after interrupted", polls);
        JS_FreeContext(ctx);
        JS_FreeRuntime(rt);
    }
    check(stopped == 40, "interrupted every time", stopped);
}

int main(int argc, char **argv) {
    long to = argc > 1 ? atol(argv[1]) : 16000, step = argc > 2 ? atol(argv[2]) : 11;
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t len;
    uint8_t *code = compile(LIBRARY, &len);
    static const int orders[][CONTEXTS] = {{0, 1, 2}, {2, 1, 0}, {1, 0, 2}};
    for (int r = 0; r < 3; r++)
        one_runtime(code, len, orders[r]);
    printf("shared runs: %d failures\n", failures);
    interrupted(code, len);
    out_of_memory(code, len, to, step);
    free(code);
    printf("%d failures\n", failures);
    return failures != 0;
}
