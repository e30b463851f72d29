/* Patch 70 under ASan/UBSan with QuickJS's assertions on (autoinit_retry.sh): the first touch of
   each kind of autoinit built-in under every memory limit (by STEP bytes up to TO), in a context of
   each profile, then, with the limit lifted, the built-in answers as in a context that never ran
   short; JS_FreeRuntime's leak check after each run. Prints how many touches were whole or out
   of memory; a failed check is printed and exits 1. */
#include "harness.h"

static const char *setup =
    "function lazy() {} function made() {} function* gen() {} made;"
    "function shape(v) { return typeof v === 'function' ? 'function ' + v.name + '/' + v.length + '/' +"
    " typeof v.prototype : v !== null && typeof v === 'object' ? 'object ' +"
    " Object.getOwnPropertyNames(v).join() : String(v); }";

/* the first touch, what must answer as in a context that never ran short */
static const char *kinds[][2] = {
    {"Object.getOwnPropertyDescriptor", "shape(Object.getOwnPropertyDescriptor) + Object.getOwnPropertyDescriptor({a: 1}, 'a').value"},
    {"Error.prototype.toString", "String(new TypeError('x'))"},
    {"JSON[Symbol.toStringTag]", "JSON[Symbol.toStringTag]"},
    {"Math", "shape(Math) + Object.getOwnPropertyNames(Math).map(function (k) { return shape(Math[k]); }).join()"},
    {"made.prototype", "shape(made.prototype) + (made.prototype.constructor === made) + (new made() instanceof made)"},
    {"lazy", "shape(lazy) + shape(lazy.prototype) + (new lazy() instanceof lazy)"},
    {"gen", "shape(gen) + (Object.getPrototypeOf(gen()) === gen.prototype) + gen().next().done"},
    {"Array.fromAsync", "shape(Array.fromAsync)"}, /* "modern" only: see main */
    {"Iterator.zip", "shape(Iterator.zip) + Iterator.zip([[1], [2]]).next().value.join()"},
    {"Map", "shape(Map) + new Map([[1, 2]]).get(1)"}, /* patch 10's groups: "modern" only */
};

static JSContext *new_context(JSRuntime *rt, int modern) {
    if (modern)
        return JS_NewContextLazy(rt);
    JSContext *ctx = JS_NewContextRaw(rt);
    JS_AddIntrinsicBaseObjects(ctx);
    JS_AddIntrinsicDate(ctx);
    JS_AddIntrinsicEval(ctx);
    JS_AddIntrinsicRegExp(ctx);
    JS_AddIntrinsicJSON(ctx);
    /* as module.c's new_es5_context: no Array.fromAsync (it needs Promise) */
    JSValue global = JS_GetGlobalObject(ctx), array = JS_GetPropertyStr(ctx, global, "Array");
    JSAtom from_async = JS_NewAtom(ctx, "fromAsync");
    JS_DeleteProperty(ctx, array, from_async, 0);
    JS_FreeAtom(ctx, from_async);
    JS_FreeValue(ctx, array);
    JS_FreeValue(ctx, global);
    return ctx;
}

static char *answer(JSContext *ctx, const char *check) {
    char code[1024];
    snprintf(code, sizeof code, "(function () { try { return String(%s); } catch (e) { return 'threw'; } })()", check);
    return text(ctx, JS_Eval(ctx, code, strlen(code), "<check>", JS_EVAL_TYPE_GLOBAL));
}

int main(int argc, char **argv) {
    int to = argc > 1 ? atoi(argv[1]) : 6000, step = argc > 2 ? atoi(argv[2]) : 1;
    int whole = 0, oom = 0;
    for (int modern = 0; modern < 2; modern++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            /* Map is a lazy group of patch 10; an es5 context has no Array.fromAsync */
            if (!modern && (strcmp(kinds[k][0], "Map") == 0 || strcmp(kinds[k][0], "Array.fromAsync") == 0))
                continue;
            char touch[256];
            snprintf(touch, sizeof touch, "try { void %s; 'made' } catch (e) { 'threw' }", kinds[k][0]);
            size_t len;
            uint8_t *code = compile(touch, &len);
            JSRuntime *rt = JS_NewRuntime();
            JSContext *ctx = new_context(rt, modern);
            JS_FreeValue(ctx, JS_Eval(ctx, setup, strlen(setup), "<setup>", JS_EVAL_TYPE_GLOBAL));
            char *expected = answer(ctx, kinds[k][1]);
            JS_FreeContext(ctx);
            JS_FreeRuntime(rt);
            for (int extra = 0; extra <= to; extra += step) {
                rt = JS_NewRuntime();
                ctx = new_context(rt, modern);
                JS_FreeValue(ctx, JS_Eval(ctx, setup, strlen(setup), "<setup>", JS_EVAL_TYPE_GLOBAL));
                JS_RunGC(rt);
                JSMemoryUsage usage;
                JS_ComputeMemoryUsage(rt, &usage);
                JS_SetMemoryLimit(rt, usage.malloc_size + extra);
                JSValue f = JS_ReadObject(ctx, code, len, JS_READ_OBJ_BYTECODE);
                char *got = JS_IsException(f) ? text(ctx, f) : text(ctx, JS_EvalFunction(ctx, f));
                if (strcmp(got, "made") == 0) whole++; else oom++;
                free(got);
                JS_SetMemoryLimit(rt, 0);
                got = answer(ctx, kinds[k][1]);
                int ok = strcmp(got, expected) == 0;
                if (!ok) printf("  %s (%s) at +%d: %s (expected %s)\n", kinds[k][0], modern ? "modern" : "es5", extra, got, expected);
                check(ok, kinds[k][0], extra);
                free(got);
                JS_FreeContext(ctx);
                JS_FreeRuntime(rt);
            }
            free(expected);
            free(code);
        }
    }
    printf("autoinit_retry: %d whole, %d out of memory, %d failures\n", whole, oom, failures);
    return failures ? 1 : 0;
}
