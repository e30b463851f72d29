/* new_es5_context: the binding's "es5" context (module.c), shared with the ASan harness that
   checks it (tests/function_list_atoms.c). Include quickjs.h first: the binding and the harnesses
   reach it by different paths. */
#ifndef ORCHWEB_ES5_CONTEXT_H
#define ORCHWEB_ES5_CONTEXT_H

// A context with the standard library of an ES5-era engine: JS_NewContext without Proxy, Map/Set,
// WeakMap/WeakRef, typed arrays, Promise, atob/btoa and performance (~40% of a context's heap).
// QuickJS's base objects keep what cannot be taken apart (Symbol, Reflect, iterators, BigInt),
// but not Array.fromAsync: made on its first touch from bytecode that needs Promise and async
// functions, it came out a non-callable object there and leaked what its making allocated.
static JSContext *new_es5_context(JSRuntime *runtime) {
	JSContext *context = JS_NewContextRaw(runtime);
	if (context == NULL) {
		return NULL;
	}
	if (JS_AddIntrinsicBaseObjects(context) || JS_AddIntrinsicDate(context) || JS_AddIntrinsicEval(context)
	    || JS_AddIntrinsicRegExp(context) || JS_AddIntrinsicJSON(context)) {
		JS_FreeContext(context);
		return NULL;
	}
	JSValue global = JS_GetGlobalObject(context);
	JSValue array = JS_GetPropertyStr(context, global, "Array");
	JSAtom from_async = JS_NewAtom(context, "fromAsync");
	// deleted unmade (the autoinit is freed, its bytecode never run)
	int deleted = from_async != JS_ATOM_NULL ? JS_DeleteProperty(context, array, from_async, 0) : -1;
	JS_FreeAtom(context, from_async);
	JS_FreeValue(context, array);
	JS_FreeValue(context, global);
	if (deleted != 1) {
		JS_FreeContext(context);
		return NULL;
	}
	return context;
}

#endif
