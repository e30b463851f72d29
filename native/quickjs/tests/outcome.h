/* Shared by the ASan/UBSan harnesses here (oom_sweep.c, realm_free.c). */
#ifndef ORCHWEB_OUTCOME_H
#define ORCHWEB_OUTCOME_H
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
#endif
