/* Realm-free bytecode (patches/40-realm-free-bytecode.patch) under ASan/UBSan: run by
 * realm_free.sh. Not part of the build or the test suite; the evidence behind the patch.
 *
 * 1. A library is compiled, written, and read once per runtime with JS_READ_OBJ_SHARED_BUF
 *    (as orchweb's binding reads it) into the runtime's first context, made realm-free, and
 *    evaluated by every context of the runtime (3 runtimes x 6 contexts, lazy and eager ones).
 *    Each context checks that everything the shared functions make is of its own realm, that
 *    a sibling's changes to its intrinsics do not reach it, and that an async function resumed
 *    by a promise job and a generator resumed later run in their own realm. Contexts are freed
 *    in several orders (the reading context first, last, in the middle), one function value is
 *    kept past its context's free, and the shared read is freed before JS_FreeRuntime, which
 *    asserts that no object is left. Patch 41: the tree read is moved off the collector's list
 *    (JS_ComputeMemoryUsage still counts its functions); in the second runtime the shared read
 *    is freed as soon as every context ran it, so the contexts' functions (in cycles through
 *    their globals) hold the last references and the collection after the last context's free
 *    frees the tree (JS_FreeRuntime asserts that the realm-free list is empty, ASan reports a
 *    leak or a double free).
 * 2. A program with a tagged template is refused (JS_MakeRealmFree returns false, the tree is
 *    unchanged and still runs in the reading context).
 * 3. Out of memory: for every limit in [0, TO) step STEP above a fresh context's usage, the
 *    read, JS_MakeRealmFree and the evaluation in two contexts run under the limit; each fails
 *    with out of memory or gives the unlimited result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"
#include "harness.h"

static const char LIBRARY[] =
    "var count = 0;\n"
    "var lib = {\n"
    "  array: function () { count++; return [1, 2]; },\n"
    "  push: function (l, x) { return l.push(x); },\n"
    "  fail: function () { return missing.value; },\n"
    "  gen: function* () { yield mine; yield [] instanceof Array; },\n"
    "  later: async function () { var a = mine; await null; return a + '|' + mine + '|' + ([] instanceof Array); },\n"
    "  counter: function () { var c = 0; return function () { return ++c + ' ' + typeof mine; }; },\n"
    "  Shape: function Shape(n) { this.n = n; },\n"
    "  make: function (body) { return new Function(body); },\n"
    "  text: 'a string constant \\u00e9', big: 12345678901234567890n, real: 1.5\n"
    "};\n"
    "lib.Shape.prototype.area = function () { return this.n * this.n; };\n"
    "class Box { constructor(v) { this.v = v; } get twice() { return this.v * 2; } }\n"
    "lib.Box = Box;\n"
    "count\n";

/* every answer must be true */
static const char CHECKS[] =
    "[Object.getPrototypeOf(lib.array()) === Array.prototype,\n"
    " (function () { try { lib.fail(); } catch (e) { return e instanceof ReferenceError; } })(),\n"
    " new lib.Shape(3).area() === 9 && Object.getPrototypeOf(new lib.Shape(1)) === lib.Shape.prototype,\n"
    " new lib.Box(2).twice === 4 && Object.getPrototypeOf(lib.Box.prototype) === Object.prototype,\n"
    " lib.array instanceof Function && Object.getPrototypeOf(lib.make('return {}')()) === Object.prototype,\n"
    " lib.push([], 1) === 1, lib.text.length === 19, lib.big % 10n === 0n, lib.real * 2 === 3,\n"
    " String(lib.Shape) === 'function Shape(n) { this.n = n; }'].every(function (x) { return x === true; })";

static void run(JSContext *ctx, const char *code) {
    JS_FreeValue(ctx, JS_Eval(ctx, code, strlen(code), "<run>", JS_EVAL_TYPE_GLOBAL));
}

static JSValue read_shared(JSContext *ctx, const uint8_t *code, size_t len) {
    return JS_ReadObject(ctx, code, len, JS_READ_OBJ_BYTECODE | JS_READ_OBJ_SHARED_BUF);
}

enum { CONTEXTS = 6 };

static int64_t functions(JSRuntime *rt) {
    JSMemoryUsage u; JS_ComputeMemoryUsage(rt, &u); return u.js_func_count;
}

static void one_runtime(const uint8_t *code, size_t len, const int *order, int held_by, int free_shared_early) {
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx[CONTEXTS];
    JSValue shared = JS_UNDEFINED, held = JS_UNDEFINED;
    for (int i = 0; i < CONTEXTS; i++) {
        ctx[i] = (i % 2) ? JS_NewContext(rt) : JS_NewContextLazy(rt);
        if (i == 0) {
            shared = read_shared(ctx[0], code, len);
            int64_t before = functions(rt);
            check(JS_MakeRealmFree(ctx[0], shared), "library realm-free", 0);
            check(functions(rt) == before && before > 10, "realm-free functions counted", (int)before);
        }
        char mine[64];
        snprintf(mine, sizeof mine, "var mine = 'context %d';", i);
        run(ctx[i], mine);
        char *r = text(ctx[i], JS_EvalFunction(ctx[i], JS_DupValue(ctx[i], shared)));
        check(strcmp(r, "0") == 0, "library top level", i);
        free(r);
        run(ctx[i], "var g = lib.gen(); var result; lib.later().then(function (v) { result = v; });");
    }
    if (free_shared_early) {  /* the contexts' functions hold the last references */
        JS_FreeValueRT(rt, shared);
        shared = JS_UNDEFINED;
        JS_RunGC(rt);
    }
    /* a sibling's tampering reaches nobody else */
    run(ctx[1], "Array.prototype.push = function () { return 'x'; }; delete globalThis.Function;");
    check(eval_is(ctx[1], "lib.push([], 1)", "x"), "tampered push", 1);
    /* the promise jobs resume each context's async function (in its own realm) */
    JSContext *job_ctx;
    while (JS_ExecutePendingJob(rt, &job_ctx) > 0) {}
    for (int i = 0; i < CONTEXTS; i++) {
        char expected[80];
        snprintf(expected, sizeof expected, "context %d|context %d|true", i, i);
        check(eval_is(ctx[i], "result", expected), "async resumed in its realm", i);
        if (i != 1)
            check(eval_is(ctx[i], CHECKS, "true"), "checks", i);
        snprintf(expected, sizeof expected, "context %d", i);
        check(eval_is(ctx[i], "g.next().value", expected), "generator", i);
        check(eval_is(ctx[i], "g.next().value", "true"), "generator resumed in its realm", i);
    }
    held = JS_Eval(ctx[held_by], "lib.counter()", strlen("lib.counter()"), "<held>", JS_EVAL_TYPE_GLOBAL);
    for (int k = 0; k < CONTEXTS; k++) {
        int i = order[k];
        if (k == 2) {  /* the others still run the shared functions */
            for (int j = k; j < CONTEXTS; j++)
                if (order[j] != 1)
                    check(eval_is(ctx[order[j]], "lib.array().length", "2"), "after frees", order[j]);
        }
        if (i == held_by) {  /* the function outlives its context's free */
            JS_FreeContext(ctx[i]);
            JS_RunGC(rt);
            JS_FreeValueRT(rt, held);
            continue;
        }
        JS_FreeContext(ctx[i]);
        JS_RunGC(rt);
    }
    JS_FreeValueRT(rt, shared);
    JS_FreeRuntime(rt);  /* asserts that nothing is left */
}

static void tagged(void) {
    size_t len;
    uint8_t *code = compile("function tag(s) { return s; } var site = function () { return tag`a${1}b`; }; "
                            "Object.getPrototypeOf(site()) === Array.prototype", &len);
    JSRuntime *rt = JS_NewRuntime();
    JSContext *a = JS_NewContext(rt), *b = JS_NewContext(rt);
    JSValue f = read_shared(a, code, len);
    check(!JS_MakeRealmFree(a, f), "tagged template refused", 0);
    char *r = text(a, JS_EvalFunction(a, f));
    check(strcmp(r, "true") == 0, "tagged template in its reading context", 0);
    free(r);
    r = text(b, JS_EvalFunction(b, read_shared(b, code, len)));
    check(strcmp(r, "true") == 0, "tagged template read again", 1);
    free(r);
    JS_FreeContext(b);
    JS_FreeContext(a);
    JS_FreeRuntime(rt);
    free(code);
}

static size_t used(JSRuntime *rt) {
    JSMemoryUsage u; JS_ComputeMemoryUsage(rt, &u); return (size_t)u.malloc_size;
}

static void out_of_memory(const uint8_t *code, size_t len, long to, long step) {
    int ok = 0, failed = 0;
    for (long lim = 0; lim < to; lim += step) {
        JSRuntime *rt = JS_NewRuntime();
        JSContext *a = JS_NewContextLazy(rt), *b = JS_NewContextLazy(rt);
        JS_SetMemoryLimit(rt, used(rt) + lim);
        JSValue f = read_shared(a, code, len);
        char *ra = NULL, *rb = NULL;
        if (!JS_IsException(f)) {
            if (!JS_MakeRealmFree(a, f)) { printf("limit %ld: not realm-free\n", lim); failures++; }
            ra = text(a, JS_EvalFunction(a, JS_DupValue(a, f)));
            rb = text(b, JS_EvalFunction(b, JS_DupValue(b, f)));
        } else {
            ra = text(a, f);
            f = JS_UNDEFINED;
        }
        JS_SetMemoryLimit(rt, (size_t)-1);
        for (char *r = ra; r; r = (r == ra ? rb : NULL)) {
            if (r[0] == '!') {
                failed++;
                if (!strstr(r, "out of memory") && strcmp(r, "!InternalError") && strcmp(r, "!null"))
                    printf("limit %ld: other error %.80s\n", lim, r), failures++;
            } else {
                ok++;
                if (strcmp(r, "0")) printf("limit %ld: WRONG RESULT %.80s\n", lim, r), failures++;
            }
        }
        free(ra); free(rb);
        check(eval_is(a, "1+1", "2") && eval_is(b, "1+1", "2"), "usable after out of memory", (int)lim);
        JS_FreeValueRT(rt, f);
        JS_FreeContext(b);
        JS_FreeContext(a);
        JS_FreeRuntime(rt);
    }
    printf("out of memory sweep: %d ok, %d failed\n", ok, failed);
}

int main(int argc, char **argv) {
    long to = argc > 1 ? atol(argv[1]) : 60000, step = argc > 2 ? atol(argv[2]) : 13;
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t len;
    uint8_t *code = compile(LIBRARY, &len);
    static const int orders[][CONTEXTS] = {
        {0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {2, 0, 5, 1, 3, 4},
    };
    for (int r = 0; r < 3; r++)
        one_runtime(code, len, orders[r], (r * 2) % CONTEXTS, r == 1);
    printf("shared runs: %d failures\n", failures);
    tagged();
    out_of_memory(code, len, to, step);
    free(code);
    printf("%d failures\n", failures);
    return failures != 0;
}
