/* Shared by the ASan/UBSan harnesses here (oom_sweep.c, realm_free.c, lazy_functions.c). */
#ifndef ORCHWEB_HARNESS_H
#define ORCHWEB_HARNESS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"

/* A result as text (malloc'd): the value as a string, or the exception's message prefixed by
   "!" (taking the context's pending exception); "(null)" when the conversion fails. `v` is not
   freed. */
static char *outcome(JSContext *ctx, JSValue v) {
    int exc = JS_IsException(v);
    JSValue x = exc ? JS_GetException(ctx) : JS_DupValue(ctx, v);
    const char *c = JS_ToCString(ctx, x);
    char *r = malloc((c ? strlen(c) : 6) + 2);
    sprintf(r, "%s%s", exc ? "!" : "", c ? c : "(null)");
    if (c) JS_FreeCString(ctx, c);
    JS_FreeValue(ctx, x);
    return r;
}

static int failures = 0;

/* a failed check is printed and counted; the harness exits 1 when any failed */
static void check(int ok, const char *what, int i) {
    if (!ok) { printf("FAIL %s (%d)\n", what, i); failures++; }
}

/* `v` as text (outcome), freed */
static char *text(JSContext *ctx, JSValue v) {
    char *r = outcome(ctx, v);
    JS_FreeValue(ctx, v);
    return r;
}

static int eval_is(JSContext *ctx, const char *code, const char *expected) {
    char *got = text(ctx, JS_Eval(ctx, code, strlen(code), "<check>", JS_EVAL_TYPE_GLOBAL));
    int ok = strcmp(got, expected) == 0;
    if (!ok) printf("  %.60s -> %s (expected %s)\n", code, got, expected);
    free(got);
    return ok;
}

/* `source` compiled as library.js in a runtime of its own, written as bytecode (malloc'd: it
   outlives the runtimes, as the binding's bytes do) */
static uint8_t *compile(const char *source, size_t *len) {
    JSRuntime *rt = JS_NewRuntime();
    JSContext *ctx = JS_NewContext(rt);
    JSValue f = JS_Eval(ctx, source, strlen(source), "library.js",
                        JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(f)) { printf("compile failed\n"); exit(2); }
    uint8_t *out = JS_WriteObject(ctx, len, f, JS_WRITE_OBJ_BYTECODE);
    uint8_t *copy = malloc(*len);
    memcpy(copy, out, *len);
    js_free(ctx, out);
    JS_FreeValue(ctx, f);
    JS_FreeContext(ctx);
    JS_FreeRuntime(rt);
    return copy;
}
#endif
