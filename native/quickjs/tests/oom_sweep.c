/* Out-of-memory sweep of QuickJS's parser and compiler (run by oom_sweep.sh under ASan/UBSan).
 *
 *   oom_sweep SCRIPT [FROM TO STEP]
 *
 * For each limit L in [FROM, TO) step STEP, a fresh runtime and context (JS_NewContext) get
 * JS_SetMemoryLimit(their own usage + L) and evaluate SCRIPT; the limit is then lifted, the
 * context must still evaluate "1+1", and everything is freed. Each evaluation must fail with out
 * of memory or give what SCRIPT gives without a limit; anything else is printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"
#include "harness.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb"); if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    char *buf = malloc(n + 1); if (fread(buf, 1, n, f) != (size_t)n) exit(2); buf[n] = 0; fclose(f);
    *len = n; return buf;
}

static size_t used(JSRuntime *rt) {
    JSMemoryUsage u; JS_ComputeMemoryUsage(rt, &u); return (size_t)u.malloc_size;
}

int main(int argc, char **argv) {
    size_t len; char *src = slurp(argv[1], &len);
    long from = argc > 2 ? atol(argv[2]) : 0, to = argc > 3 ? atol(argv[3]) : 200000;
    long step = argc > 4 ? atol(argv[4]) : 64;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ok = 0, fail = 0;
    char *expected;
    {
        JSRuntime *rt = JS_NewRuntime(); JSContext *ctx = JS_NewContext(rt);
        JSValue v = JS_Eval(ctx, src, len, "<sweep>", JS_EVAL_TYPE_GLOBAL);
        expected = outcome(ctx, v); JS_FreeValue(ctx, v);
        JS_FreeContext(ctx); JS_FreeRuntime(rt);
        printf("%s: unlimited -> %.60s\n", argv[1], expected);
    }
    for (long lim = from; lim < to; lim += step) {
        JSRuntime *rt = JS_NewRuntime();
        JSContext *ctx = JS_NewContext(rt);
        JS_SetMemoryLimit(rt, used(rt) + lim);
        JSValue v = JS_Eval(ctx, src, len, "<sweep>", JS_EVAL_TYPE_GLOBAL);
        JS_SetMemoryLimit(rt, (size_t)-1);
        char *got = outcome(ctx, v);
        if (got[0] == '!') {
            fail++;
            /* the forms of out of memory: the InternalError, without its message, or none (null) */
            if (!strstr(got, "out of memory") && strcmp(got, "!InternalError") && strcmp(got, "!null") && strcmp(got, expected))
                printf("limit %ld: other error %.80s\n", lim, got);
        } else {
            ok++;
            if (strcmp(got, expected))
                printf("limit %ld: WRONG RESULT %.80s\n", lim, got);
        }
        free(got);
        JS_FreeValue(ctx, v);
        /* the context must stay usable after the failure */
        JSValue w = JS_Eval(ctx, "1+1", 3, "<after>", JS_EVAL_TYPE_GLOBAL);
        if (!JS_IsNumber(w)) { fprintf(stderr, "context unusable at limit %ld\n", lim); abort(); }
        JS_FreeValue(ctx, w);
        JS_FreeContext(ctx);
        JS_FreeRuntime(rt);
    }
    printf("%s: %d ok, %d failed\n", argv[1], ok, fail);
    free(src); free(expected);
    return 0;
}
