/* patches/80-virtual-clock.patch under ASan/UBSan (run by virtual_clock.sh; not part of the build
   or the test suite): a context given a virtual clock (a zone of three offsets with non-ASCII
   abbreviations, a clock that can fail) runs every path of the patch that allocates or reads the
   tables (parse's scratch copy, toString's zone name, setters, the constructor, performance made
   before and after the clock, Math.random), in full and under every memory limit of a sweep;
   then the clock is dropped (NULL) and the context freed. Any invalid access or leak aborts. */
#include <math.h>
#include "harness.h"

static const double transitions[] = {1774746000000.0, 1792890000000.0};  /* 2026-03-29, 2026-10-25 01:00 UTC */
static const int32_t offsets[] = {60, 120, 60};
static const uint32_t names[] = {0, 10, 0};
static const char zone_text[] = "CET \xc3\xa9t\xc3\xa9\0CEST";  /* "CET été", "CEST" */
static double now_value = 1767607200000.0;

static double now(JSContext *ctx, void *opaque) { (void)ctx; (void)opaque; return now_value; }

static const char *SCRIPT =
    "var d = new Date(2026, 2, 29, 2, 30), out = [d.getTime(), String(d), d.toTimeString(),"
    " new Date(2026, 9, 25, 2, 30).getTimezoneOffset(), Date.parse('Mar 29 2026 02:30'),"
    " Date.parse(' 2026-03-29T02:30 '), Date.parse('Mar 29 2026 02:30 (x) CEST'), new Date(-1e14).toLocaleString(),"
    " new Date(0).setHours(1, 2, 3, 4, 5), new Date(0).setMonth(NaN), Date(), Date.now(),"
    " typeof performance === 'object' ? performance.now() + ',' + performance.timeOrigin : 'none',"
    " Math.random(), new Date({valueOf: function () { return {}; }, toString: function () { return '2026'; }}).getTime()];"
    " out.join('|')";

static JSContext *with_clock(JSRuntime *rt, int kind, JSVirtualClock *clock) {
    JSContext *ctx = kind == 0 ? JS_NewContextLazy(rt) : kind == 1 ? JS_NewContext(rt) : JS_NewContextRaw(rt);
    if (!ctx) return NULL;
    if (kind == 2 && (JS_AddIntrinsicBaseObjects(ctx) || JS_AddIntrinsicDate(ctx) || JS_AddIntrinsicEval(ctx))) {
        JS_FreeContext(ctx);
        return NULL;
    }
    if (JS_SetVirtualClock(ctx, clock) < 0) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        JS_SetVirtualClock(ctx, NULL);
        JS_FreeContext(ctx);
        return NULL;
    }
    return ctx;
}

int main(int argc, char **argv) {
    int to = argc > 1 ? atoi(argv[1]) : 400000, step = argc > 2 ? atoi(argv[2]) : 997;
    uint32_t seed[4] = {1, 2, 3, 4};
    JSVirtualClock clock = {now, NULL, 3, transitions, offsets, names, zone_text, {0}};
    char *full[3];
    JS_SeedVirtualClock(&clock, seed);
    for (int kind = 0; kind < 3; kind++) {
        JSRuntime *rt = JS_NewRuntime();
        JSContext *ctx = with_clock(rt, kind, &clock);
        JS_SeedVirtualClock(&clock, seed);
        full[kind] = text(ctx, JS_Eval(ctx, SCRIPT, strlen(SCRIPT), "<clock>", JS_EVAL_TYPE_GLOBAL));
        printf("%d: %s\n", kind, full[kind]);
        check(strstr(full[kind], "GMT+0100 (CET \xc3\xa9t\xc3\xa9)") != NULL, "zone name", kind);
        check(strstr(full[kind], "|1774747800000|") != NULL, "a skipped wall time", kind);
        now_value = NAN;
        check(eval_is(ctx, "String(new Date())", "Invalid Date"), "a failing clock", kind);
        now_value = 1767607200000.0;
        JS_SetVirtualClock(ctx, NULL);
        JS_FreeContext(ctx);
        JS_FreeRuntime(rt);
    }
    check(strcmp(full[0], full[1]) == 0, "lazy and eager performance", 0);
    for (int limit = 60000; limit < to; limit += step) {
        for (int kind = 0; kind < 3; kind++) {
            JSRuntime *rt = JS_NewRuntime();
            JS_SetMemoryLimit(rt, limit);
            JSContext *ctx = with_clock(rt, kind, &clock);
            if (ctx) {
                JS_SeedVirtualClock(&clock, seed);
                char *got = text(ctx, JS_Eval(ctx, SCRIPT, strlen(SCRIPT), "<clock>", JS_EVAL_TYPE_GLOBAL));
                check(got[0] == '!' || strcmp(got, full[kind]) == 0, "all or an error", limit);
                free(got);
                JS_SetVirtualClock(ctx, NULL);
                JS_FreeContext(ctx);
            }
            JS_FreeRuntime(rt);
        }
    }
    for (int kind = 0; kind < 3; kind++) free(full[kind]);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
