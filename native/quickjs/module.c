// orchweb_quickjs: orchweb's QuickJS binding.
//
// A fork of module.c of the PyPI package quickjs-ng 0.17.0.2 (MIT License, see LICENSE next to
// this file; copyright its authors), compiled against that sdist's upstream quickjs-ng sources by
// build.py. What changed and why (docs/performance.md, "One JSRuntime for the sessions of one
// user's work"):
// * `Runtime`: a JSRuntime several `Context`s can share (`Context(runtime)`); `Context()` still
//   creates its own. Memory limit, stack limit, GC threshold and GC are per runtime.
// * Python callbacks find their Context through the JSContext's opaque, the running-thread state
//   and the callables list live on the Runtime (a GC in one context may finalize another's).
// * The interrupt handler is always installed and compares CLOCK_MONOTONIC (Python's
//   time.monotonic()) with the `deadline` of the context whose JS runs now (0: none), without
//   taking the GIL. The binding's CPU-time `set_time_limit` is gone (it forbade callbacks).
// * A runtime is used by one thread at a time: entering it from another thread while it is in use
//   raises RuntimeError instead of corrupting it; values and contexts dropped by another thread
//   meanwhile are freed by the owning thread when it leaves.
// * `compile` / `run_bytecode`: compile a global program to bytecode once and run it in any
//   context of this build (JS_WriteObject / JS_ReadObject + JS_EvalFunction). With `share`, the
//   functions read point into the bytes for their source text and positions (our patch
//   patches/20-shared-source.patch, JS_READ_OBJ_SHARED_BUF); the runtime keeps the bytes alive
//   and, from its second context on, one read of them: realm-free bytecode
//   (patches/40-realm-free-bytecode.patch, JS_MakeRealmFree) that every context evaluates.
// * `set_event` / `add_event_getter`: the datamodel's `_event`, a frozen object built in C on its
//   first read (docs/performance.md, "`_event` built in C").
// Removed (unused by orchweb): module(), execute_pending_job(), parse_json(), set_time_limit().
#define PY_SSIZE_T_CLEAN
#define Py_LIMITED_API 0x030A0000
#include <Python.h>
#include <math.h>
#include <time.h>

#include "upstream-quickjs/quickjs.h"
#include "es5_context.h"

typedef struct PythonCallableNode PythonCallableNode;
struct PythonCallableNode {
	PyObject *obj;
	PythonCallableNode *prev;
	PythonCallableNode *next;
};

typedef struct ContextData ContextData;
typedef struct ObjectData ObjectData;
typedef struct EventData EventData;
typedef struct RecordData RecordData;
typedef struct ClockData ClockData;

// A value or context dropped while another thread was running JS in the runtime.
typedef struct {
	JSContext *context;  // non-NULL: free this context
	JSValue value;       // else: free this value
} PendingFree;

// A program run with share=True in some context of a runtime.
typedef struct {
	// Its bytes: functions read from them with JS_READ_OBJ_SHARED_BUF point into them, so the
	// runtime keeps them until it is freed (after its last function).
	PyObject *code;
	// Its bytecode, read once more when a second context runs it, realm-free (JS_MakeRealmFree):
	// every later context evaluates a reference to it. The first context reads its own (a
	// runtime of one session keeps no more than before: the read's top level is freed once run).
	// JS_UNINITIALIZED: not run yet; JS_NULL: run once; JS_UNDEFINED: not realm-free (a constant
	// bound to a realm, such as a template object), so each context reads its own.
	JSValue function;
	// Kept under a slot (run_bytecode's `slot`): read with copies of its source text and
	// positions, so that another program of the slot may replace it (its read freed: the
	// functions made from it keep what they use) while functions read from it live on.
	int copied;
} SharedProgram;

// _quickjs.Runtime
typedef struct {
	PyObject_HEAD
	JSRuntime *runtime;
	// Set while a thread runs JS in this runtime with the GIL released.
	PyThreadState *thread_state;
	// The thread inside this runtime (NULL: none) and how deeply (callbacks may re-enter).
	PyThreadState *owner;
	int depth;
	// JS_GetOutOfMemoryCount when the outermost entry began (patches/90): a change since tells
	// that this call ran out of memory.
	uint64_t out_of_memory_count;
	// The context whose JS runs now (its deadline is the one checked).
	ContextData *current;
	// Python callables wrapped by add_callable in any context of this runtime (for Python's GC).
	PythonCallableNode *python_callables;
	PendingFree *pending;
	Py_ssize_t pending_count, pending_size;
	// The field names of `_event` objects, made on the first build (tp_alloc zeroes: JS_ATOM_NULL).
	JSAtom event_atoms[7];
	// Programs run with share=True or a slot, in `shared` (NULL until the first; never in a
	// cycle), found through `shared_index` (id(bytes) -> index; (slot,) -> index).
	PyObject *shared_index;
	SharedProgram *shared;
	Py_ssize_t shared_count, shared_size;
} RuntimeData;

// _quickjs.Context
struct ContextData {
	PyObject_HEAD
	RuntimeData *runtime_data;  // strong reference
	JSContext *context;  // NULL once closed
	double deadline;  // CLOCK_MONOTONIC seconds after which running JS is interrupted; 0: none
	int running;  // calls of this context's JS in progress (nested through callbacks)
	int closing;  // close() was called while its JS ran: close when the outermost call returns
	// The Objects wrapping values of this context: close() frees their values, since one held
	// function would otherwise keep the whole realm (globals and all) alive.
	ObjectData *objects;
	EventData *event;  // the fields and object of `_event` (NULL until set_event; tp_alloc zeroes)
	RecordData *record;  // the datamodel record's helpers and memo (NULL until set_record_helpers)
	ClockData *clock;  // the virtual clock (NULL until set_clock; tp_alloc zeroes)
};

// A context's virtual clock (Context.set_clock, below).
struct ClockData {
	PyObject *now;  // the callable giving the epoch ms
	PyObject *zone;  // the bytes the clock's tables point into
	JSVirtualClock clock;
};

// _quickjs.Object
struct ObjectData {
	PyObject_HEAD
	ContextData *context_data;  // strong reference
	JSValue object;  // JS_UNDEFINED once its context is closed
	ObjectData *prev, *next;
};

static PyObject *ObjectType = NULL;
static PyObject *ContextType = NULL;
static PyObject *RuntimeType = NULL;
static PyObject *LockType = NULL;
static PyObject *JSException = NULL;
static PyObject *StackOverflow = NULL;
static PyObject *OutOfMemory = NULL;  // the limit errors, told exactly (limit_error)
static PyObject *Interrupted = NULL;
static JSClassID js_python_function_class_id;

static void quickjs_exception_to_python(JSContext *context);
static PyObject *quickjs_to_python(ContextData *context_data, JSValue value);

// ---- runtime ownership ------------------------------------------------------------------------

// Enter the runtime on this thread (GIL held); -1 with RuntimeError if another thread is in it.
static int runtime_enter(RuntimeData *rt) {
	PyThreadState *me = PyThreadState_Get();
	if (rt->owner != NULL && rt->owner != me) {
		PyErr_SetString(PyExc_RuntimeError, "this JS runtime is in use by another thread");
		return -1;
	}
	if (rt->depth == 0) {
		rt->out_of_memory_count = JS_GetOutOfMemoryCount(rt->runtime);
	}
	rt->owner = me;
	rt->depth++;
	return 0;
}

static void free_item(RuntimeData *rt, PendingFree item);

static void runtime_free_pending(RuntimeData *rt) {
	// Frees may finalize Python callables, which may drop more values: loop until empty.
	while (rt->pending_count > 0) {
		PendingFree item = rt->pending[--rt->pending_count];
		free_item(rt, item);
	}
}

static void runtime_leave(RuntimeData *rt) {
	if (--rt->depth == 0) {
		runtime_free_pending(rt);
		rt->owner = NULL;
	}
}

static void free_item(RuntimeData *rt, PendingFree item) {
	if (item.context) {
		// Nothing of this context can run any more: drop the opaque our callbacks use.
		JS_SetContextOpaque(item.context, NULL);
		JS_FreeContext(item.context);
	} else {
		JS_FreeValueRT(rt->runtime, item.value);
	}
}

// Free a value or context of `rt` now (inside the runtime: a free may run finalizers, which run
// Python code, during which another thread must not enter) or, if another thread is inside, when
// that thread leaves (a failed allocation then leaks it rather than racing the owner).
static void runtime_free(RuntimeData *rt, JSContext *context, JSValue value) {
	PendingFree item = {context, value};
	PyThreadState *me = PyThreadState_Get();
	if (rt->owner != NULL && rt->owner != me) {
		if (rt->pending_count == rt->pending_size) {
			Py_ssize_t size = rt->pending_size ? rt->pending_size * 2 : 16;
			PendingFree *grown = PyMem_Realloc(rt->pending, size * sizeof(PendingFree));
			if (grown == NULL) {
				return;
			}
			rt->pending = grown;
			rt->pending_size = size;
		}
		rt->pending[rt->pending_count++] = item;
		return;
	}
	rt->owner = me;
	rt->depth++;
	free_item(rt, item);
	runtime_leave(rt);
}

// ---- deadline ---------------------------------------------------------------------------------

static double monotonic_seconds(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// Polled by QuickJS every ~10k operations (GIL released): nonzero interrupts the running JS.
static int js_interrupt_handler(JSRuntime *runtime, void *opaque) {
	ContextData *current = ((RuntimeData *)opaque)->current;
	return current != NULL && current->deadline > 0 && monotonic_seconds() > current->deadline;
}

// ---- calling JS (GIL released) and Python (GIL re-taken) --------------------------------------

static void context_free_now(ContextData *self);

// Enter the runtime to use `context_data`; -1 with an error if it is closed or another thread is in.
static int context_enter(ContextData *context_data) {
	if (context_data->context == NULL || context_data->closing) {
		PyErr_SetString(JSException, "InternalError: the context is closed\n");
		return -1;
	}
	return runtime_enter(context_data->runtime_data);
}

// Leave after using `context_data`, completing a close() deferred while its JS ran.
static void context_leave(ContextData *context_data) {
	if (context_data->closing && context_data->running == 0 && context_data->context != NULL) {
		context_free_now(context_data);
	}
	runtime_leave(context_data->runtime_data);
}

// Before running JS of `context_data` (inside its runtime): make it the current context and
// release the GIL; end_call_js undoes both (the caller then converts the result and leaves).
static void begin_js(ContextData *context_data, ContextData **previous) {
	RuntimeData *rt = context_data->runtime_data;
	*previous = rt->current;
	rt->current = context_data;
	context_data->running++;
	rt->thread_state = PyEval_SaveThread();
	// Only the thread's outermost entry sets the stack top: JS re-entered from a Python callback
	// (this context or a sibling) stays within the outer call's stack budget, where moving the top
	// down at each re-entry would let JS -> callback -> JS recursion grow the C stack without bound.
	if (rt->depth == 1) {
		JS_UpdateStackTop(rt->runtime);
	}
}

static int prepare_call_js(ContextData *context_data, ContextData **previous) {
	if (context_enter(context_data) < 0) {
		return -1;
	}
	begin_js(context_data, previous);
	return 0;
}

static void end_call_js(ContextData *context_data, ContextData *previous) {
	RuntimeData *rt = context_data->runtime_data;
	PyEval_RestoreThread(rt->thread_state);
	rt->thread_state = NULL;
	rt->current = previous;
	context_data->running--;
}

static void prepare_call_python(RuntimeData *rt) {
	PyEval_RestoreThread(rt->thread_state);
	rt->thread_state = NULL;
}

static void end_call_python(RuntimeData *rt) {
	rt->thread_state = PyEval_SaveThread();
}

// ---- _quickjs.Object --------------------------------------------------------------------------

static int object_traverse(ObjectData *self, visitproc visit, void *arg) {
	Py_VISIT(self->context_data);
	return 0;
}

static PyObject *object_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
	allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
	ObjectData *self = (ObjectData *)alloc(type, 0);
	if (self != NULL) {
		self->context_data = NULL;
		self->object = JS_UNDEFINED;
		self->prev = self->next = NULL;
	}
	return (PyObject *)self;
}

static void object_dealloc(ObjectData *self) {
	PyObject_GC_UnTrack(self);
	ContextData *context_data = self->context_data;
	if (context_data) {
		if (self->prev != NULL || context_data->objects == self) {  // not unlinked by close()
			if (self->prev) {
				self->prev->next = self->next;
			} else {
				context_data->objects = self->next;
			}
			if (self->next) {
				self->next->prev = self->prev;
			}
		}
		runtime_free(context_data->runtime_data, NULL, self->object);  // undefined after close()
		Py_CLEAR(self->context_data);
	}
	freefunc free_fn = (freefunc)PyType_GetSlot(Py_TYPE(self), Py_tp_free);
	free_fn((PyObject *)self);
}

static PyObject *object_call(ObjectData *self, PyObject *args, PyObject *kwds);

static PyObject *object_json(ObjectData *self, PyObject *unused) {
	if (self->context_data == NULL || context_enter(self->context_data) < 0) {
		return NULL;
	}
	JSContext *context = self->context_data->context;
	JSValue json_string = JS_JSONStringify(context, self->object, JS_UNDEFINED, JS_UNDEFINED);
	PyObject *result = quickjs_to_python(self->context_data, json_string);
	context_leave(self->context_data);
	return result;
}

// The elements of a JS array as a tuple, each converted as a call's result: what the datamodel
// takes from _CORE (its helpers) in one read instead of a JS call per helper. Only an Array's own
// data elements are read (no getter, proxy or prototype: no JS runs); anything else is a
// TypeError.
static PyObject *object_unpack(ObjectData *self, PyObject *unused) {
	if (self->context_data == NULL || context_enter(self->context_data) < 0) {
		return NULL;
	}
	JSContext *context = self->context_data->context;
	PyObject *result = NULL;
	int64_t length = 0;
	if (!JS_IsArray(self->object) || JS_GetLength(context, self->object, &length) < 0 ||
	    length > PY_SSIZE_T_MAX / 2) {
		JS_FreeValue(context, JS_GetException(context));
		PyErr_SetString(PyExc_TypeError, "unpack: not an array");
		goto done;
	}
	result = PyTuple_New((Py_ssize_t)length);
	for (int64_t i = 0; result != NULL && i < length; i++) {
		JSPropertyDescriptor desc;
		JSAtom atom = JS_NewAtomUInt32(context, (uint32_t)i);
		int found = atom == JS_ATOM_NULL ? -1 : JS_GetOwnProperty(context, &desc, self->object, atom);
		JS_FreeAtom(context, atom);
		if (found <= 0 || (desc.flags & JS_PROP_GETSET)) {
			if (found < 0) {
				JS_FreeValue(context, JS_GetException(context));
			} else if (found > 0) {
				JS_FreeValue(context, desc.getter);
				JS_FreeValue(context, desc.setter);
				JS_FreeValue(context, desc.value);
			}
			PyErr_SetString(PyExc_TypeError, "unpack: not an array of data elements");
			Py_CLEAR(result);
			break;
		}
		JS_FreeValue(context, desc.getter);
		JS_FreeValue(context, desc.setter);
		PyObject *item = quickjs_to_python(self->context_data, desc.value);
		if (item == NULL) {
			Py_CLEAR(result);
			break;
		}
		if (PyTuple_SetItem(result, (Py_ssize_t)i, item) < 0) {
			Py_CLEAR(result);
			break;
		}
	}
done:
	context_leave(self->context_data);
	return result;
}

static PyMethodDef object_methods[] = {
    {"json", (PyCFunction)object_json, METH_NOARGS, "Converts to a JSON string."},
    {"unpack", (PyCFunction)object_unpack, METH_NOARGS,
     "The elements of a JS array as a tuple (own data elements only)."},
    {NULL}
};

static PyType_Slot object_slots[] = {
    {Py_tp_doc, "Quickjs object"},
    {Py_tp_traverse, object_traverse},
    {Py_tp_new, object_new},
    {Py_tp_dealloc, object_dealloc},
    {Py_tp_call, object_call},
    {Py_tp_methods, object_methods},
    {0, NULL}
};

static PyType_Spec object_spec = {
    "orchweb_quickjs.Object",
    sizeof(ObjectData),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    object_slots
};

// ---- conversions ------------------------------------------------------------------------------

static int python_to_quickjs_possible(ContextData *context_data, PyObject *item) {
	if (PyBool_Check(item) || PyLong_Check(item) || PyFloat_Check(item) || item == Py_None ||
	    PyUnicode_Check(item)) {
		return 1;
	} else if (PyObject_IsInstance(item, ObjectType)) {
		if (((ObjectData *)item)->context_data != context_data) {
			PyErr_Format(PyExc_ValueError, "Can not mix JS objects from different contexts.");
			return 0;
		}
		return 1;
	} else {
		PyObject *type_name = PyObject_GetAttrString((PyObject *)Py_TYPE(item), "__name__");
		PyErr_Format(PyExc_TypeError,
		             "Unsupported type when converting a Python object to quickjs: %U.",
		             type_name);
		Py_XDECREF(type_name);
		return 0;
	}
}

// Converts item (checked by python_to_quickjs_possible) to QuickJS.
static JSValue python_to_quickjs(ContextData *context_data, PyObject *item) {
	JSContext *context = context_data->context;
	if (PyBool_Check(item)) {
		return JS_MKVAL(JS_TAG_BOOL, item == Py_True ? 1 : 0);
	} else if (PyLong_Check(item)) {
		int overflow;
		long value = PyLong_AsLongAndOverflow(item, &overflow);
		if (overflow || value > INT32_MAX || value < INT32_MIN) {
			return JS_NewFloat64(context, PyLong_AsDouble(item));
		}
		return JS_MKVAL(JS_TAG_INT, (int32_t)value);
	} else if (PyFloat_Check(item)) {
		return JS_NewFloat64(context, PyFloat_AsDouble(item));
	} else if (item == Py_None) {
		return JS_NULL;
	} else if (PyUnicode_Check(item)) {
		Py_ssize_t size;
		const char *utf8 = PyUnicode_AsUTF8AndSize(item, &size);
		if (!utf8) {
			return JS_UNDEFINED;
		}
		return JS_NewStringLen(context, utf8, (size_t)size);
	} else if (PyObject_IsInstance(item, ObjectType)) {
		return JS_DupValue(context, ((ObjectData *)item)->object);
	}
	return JS_UNDEFINED;
}

// Whether `value` is the string `text`, compared in place (the C string of an ASCII string is the
// string itself: nothing is allocated).
static int string_is(JSContext *context, JSValueConst value, const char *text) {
	size_t length;
	const char *cstring = JS_IsString(value) ? JS_ToCStringLen(context, &length, value) : NULL;
	int same = cstring != NULL && length == strlen(text) && memcmp(cstring, text, length) == 0;
	JS_FreeCString(context, cstring);
	return same;
}

// The limit error that `exception` is (OutOfMemory or Interrupted, with its first line in *line),
// or NULL: a program's own error. The deadline's interrupt is the one uncatchable error. Running
// out of memory throws an InternalError "out of memory" (the regexp engine's: "out of memory in
// regexp execution"; "" when the memory ran out before the message was made), or null when not
// even the error could be made (or, upstream's oom_sweep.sh finds, with no exception at all). A program can throw all of these itself, so they are the limit
// only when the runtime did run out of memory during this call (patches/90's count changed since
// the outermost entry); a program that catches the limit error and throws something else reports
// what it threw. Name and message are read as toString reads them, compared in place, not
// converted: at the memory limit toString could fail or lose the name, and a program's own
// toString can neither hide nor fake the limit.
static PyObject *limit_error(JSContext *context, JSValueConst exception, const char **line) {
	if (JS_IsError(exception) && JS_IsUncatchableError(exception)) {
		*line = "InternalError: interrupted";
		return Interrupted;
	}
	RuntimeData *rt = JS_GetRuntimeOpaque(JS_GetRuntime(context));
	if (JS_GetOutOfMemoryCount(rt->runtime) == rt->out_of_memory_count) {
		return NULL;
	}
	// (upstream can also fail at the limit with no exception set: JS_UNINITIALIZED)
	int out_of_memory = JS_IsNull(exception) || JS_IsUninitialized(exception);
	if (!out_of_memory && JS_IsError(exception)) {
		JSValue name = JS_GetPropertyStr(context, exception, "name");
		JSValue message = JS_GetPropertyStr(context, exception, "message");
		out_of_memory = string_is(context, name, "InternalError") &&
		                (string_is(context, message, "out of memory") || string_is(context, message, "") ||
		                 string_is(context, message, "out of memory in regexp execution"));
		JS_FreeValue(context, name);
		JS_FreeValue(context, message);
	}
	*line = "InternalError: out of memory";
	return out_of_memory ? OutOfMemory : NULL;
}

// Converts the current JS exception to a Python exception: String(e) + "\n" + e.stack.
static void quickjs_exception_to_python(JSContext *context) {
	JSValue exception = JS_GetException(context);
	const char *limit_line = NULL;
	PyObject *limit_type = limit_error(context, exception, &limit_line);
	const char *cstring = limit_type != NULL ? NULL : JS_ToCString(context, exception);
	const char *stack_cstring = NULL;
	if (!JS_IsNull(exception) && !JS_IsUndefined(exception)) {
		JSValue stack = JS_GetPropertyStr(context, exception, "stack");
		if (!JS_IsException(stack)) {
			stack_cstring = JS_ToCString(context, stack);
			JS_FreeValue(context, stack);
		}
	}
	const char *safe_stack_cstring = stack_cstring ? stack_cstring : "";
	if (limit_type != NULL) {
		PyErr_Format(limit_type, "%s\n%s", limit_line, safe_stack_cstring);
	} else if (cstring != NULL) {
		if (strstr(cstring, "stack overflow") != NULL || strstr(cstring, "call stack size exceeded") != NULL) {
			PyErr_Format(StackOverflow, "%s\n%s", cstring, safe_stack_cstring);
		} else {
			PyErr_Format(JSException, "%s\n%s", cstring, safe_stack_cstring);
		}
	} else {
		PyErr_Format(JSException, "(Failed obtaining QuickJS error string.)");
	}
	JS_FreeCString(context, cstring);
	JS_FreeCString(context, stack_cstring);
	JS_FreeValue(context, exception);
}

// A JS string as Python text: UTF-8 with strict errors, as the upstream binding (a lone surrogate
// raises UnicodeDecodeError), of the length QuickJS knows when `whole`. Without `whole` (the
// arguments of Python callbacks) the text ends at its first NUL, as it always has. A `whole` text
// with a NUL decodes lone surrogates too (surrogatepass): the datamodel's `out()` sent such strings
// as JSON, whose \uXXXX escapes json.loads read back as those code points. JS_ToCStringLen fails
// only out of memory (never for ASCII: it points into the string): None then, as Py_BuildValue
// made of a NULL string.
static PyObject *string_to_python(JSContext *context, JSValueConst value, int whole) {
	size_t length;
	const char *cstring = JS_ToCStringLen(context, &length, value);
	if (cstring == NULL) {
		return Py_NewRef(Py_None);
	}
	if (!whole) {
		length = strlen(cstring);
	}
	PyObject *text = PyUnicode_DecodeUTF8(cstring, (Py_ssize_t)length, NULL);
	if (text == NULL && whole && memchr(cstring, 0, length) != NULL &&
	    PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
		PyErr_Clear();
		text = PyUnicode_DecodeUTF8(cstring, (Py_ssize_t)length, "surrogatepass");
	}
	JS_FreeCString(context, cstring);
	return text;
}

// Converts a JSValue to a Python object; takes ownership of the value. `whole`: strings keep
// their NULs (what JS returns to Python), else they end at the first (callbacks' arguments).
static PyObject *quickjs_to_python_as(ContextData *context_data, JSValue value, int whole) {
	JSContext *context = context_data->context;
	int tag = JS_VALUE_GET_NORM_TAG(value);
	PyObject *return_value = NULL;

	if (tag == JS_TAG_INT) {
		return_value = PyLong_FromLong(JS_VALUE_GET_INT(value));
	} else if (tag == JS_TAG_BIG_INT || tag == JS_TAG_SHORT_BIG_INT) {
		const char *cstring = JS_ToCString(context, value);
		return_value = PyLong_FromString(cstring, NULL, 10);
		JS_FreeCString(context, cstring);
	} else if (tag == JS_TAG_BOOL) {
		return_value = PyBool_FromLong(JS_VALUE_GET_BOOL(value));
	} else if (tag == JS_TAG_NULL || tag == JS_TAG_UNDEFINED) {
		return_value = Py_NewRef(Py_None);
	} else if (tag == JS_TAG_EXCEPTION) {
		quickjs_exception_to_python(context);
	} else if (tag == JS_TAG_FLOAT64) {
		return_value = PyFloat_FromDouble(JS_VALUE_GET_FLOAT64(value));
	} else if (tag == JS_TAG_STRING || tag == JS_TAG_STRING_ROPE) {  // quickjs-ng: long concatenations are ropes
		return_value = string_to_python(context, value, whole);
	} else if (tag == JS_TAG_OBJECT || tag == JS_TAG_MODULE || tag == JS_TAG_SYMBOL) {
		return_value = PyObject_CallObject(ObjectType, NULL);
		if (return_value == NULL) {
			JS_FreeValue(context, value);
			return NULL;
		}
		ObjectData *object = (ObjectData *)return_value;
		// The object keeps its context (and so its runtime) alive.
		Py_INCREF(context_data);
		object->context_data = context_data;
		object->object = JS_DupValue(context, value);
		object->prev = NULL;
		object->next = context_data->objects;
		if (context_data->objects) {
			context_data->objects->prev = object;
		}
		context_data->objects = object;
	} else {
		PyErr_Format(PyExc_TypeError, "Unknown quickjs tag: %d", tag);
	}
	JS_FreeValue(context, value);
	return return_value;
}

static PyObject *quickjs_to_python(ContextData *context_data, JSValue value) {
	return quickjs_to_python_as(context_data, value, 1);
}

static PyObject *object_call(ObjectData *self, PyObject *args, PyObject *kwds) {
	ContextData *context_data = self->context_data;
	if (context_data == NULL) {
		Py_RETURN_NONE;
	}
	const int nargs = (int)PyTuple_Size(args);
	for (int i = 0; i < nargs; ++i) {
		if (!python_to_quickjs_possible(context_data, PyTuple_GetItem(args, i))) {
			return NULL;
		}
	}
	if (context_enter(context_data) < 0) {
		return NULL;
	}
	// Arguments are converted inside the runtime (strings allocate there).
	JSValue jsargs_small[4];
	JSValue *jsargs = jsargs_small;
	if (nargs > 4 && (jsargs = PyMem_Malloc(nargs * sizeof(JSValue))) == NULL) {
		context_leave(context_data);
		return PyErr_NoMemory();
	}
	for (int i = 0; i < nargs; ++i) {
		jsargs[i] = python_to_quickjs(context_data, PyTuple_GetItem(args, i));
	}
	ContextData *previous;
	begin_js(context_data, &previous);
	JSValue value = JS_Call(context_data->context, self->object, JS_NULL, nargs, jsargs);
	for (int i = 0; i < nargs; ++i) {
		JS_FreeValue(context_data->context, jsargs[i]);
	}
	end_call_js(context_data, previous);
	if (jsargs != jsargs_small) {
		PyMem_Free(jsargs);
	}
	PyObject *result = quickjs_to_python(context_data, value);
	context_leave(context_data);
	return result;
}

// ---- Python callables in JS -------------------------------------------------------------------

static void js_python_function_finalizer(JSRuntime *runtime, JSValue val) {
	PythonCallableNode *node = JS_GetOpaque(val, js_python_function_class_id);
	RuntimeData *rt = JS_GetRuntimeOpaque(runtime);
	if (node) {
		JS_SetOpaque(val, NULL);
		// Called from a GC inside JS (GIL released) or from a free with the GIL held.
		PyThreadState *released = rt->thread_state;
		if (released) {
			PyEval_RestoreThread(released);
			rt->thread_state = NULL;
		}
		if (node->prev) {
			node->prev->next = node->next;
		} else {
			rt->python_callables = node->next;
		}
		if (node->next) {
			node->next->prev = node->prev;
		}
		Py_XDECREF(node->obj);  // may have been cleared by runtime_clear
		PyMem_Free(node);
		if (released) {
			rt->thread_state = PyEval_SaveThread();
		}
	}
}

static JSValue js_python_function_call(JSContext *ctx, JSValueConst func_obj,
                                       JSValueConst this_val, int argc, JSValueConst *argv,
                                       int flags) {
	// The calling context (never another session's: contexts share no objects).
	ContextData *context_data = JS_GetContextOpaque(ctx);
	PythonCallableNode *node = JS_GetOpaque(func_obj, js_python_function_class_id);
	if (context_data == NULL || node == NULL || node->obj == NULL) {
		return JS_ThrowInternalError(ctx, "Python callable released.");
	}
	RuntimeData *rt = context_data->runtime_data;
	prepare_call_python(rt);
	PyObject *args = PyTuple_New(argc);
	if (!args) {
		PyErr_Clear();
		end_call_python(rt);
		return JS_ThrowOutOfMemory(ctx);
	}
	for (int i = 0; i < argc; ++i) {
		PyObject *arg = quickjs_to_python_as(context_data, JS_DupValue(ctx, argv[i]), 0);
		if (!arg) {
			PyErr_Clear();
			Py_DECREF(args);
			end_call_python(rt);
			return JS_ThrowInternalError(ctx, "Internal error: could not convert args.");
		}
		PyTuple_SetItem(args, i, arg);
	}
	PyObject *result = PyObject_CallObject(node->obj, args);
	Py_DECREF(args);
	if (!result) {
		end_call_python(rt);
		return JS_ThrowInternalError(ctx, "Python call failed.");
	}
	JSValue js_result;
	if (python_to_quickjs_possible(context_data, result)) {
		js_result = python_to_quickjs(context_data, result);
	} else {
		PyErr_Clear();
		js_result = JS_ThrowInternalError(ctx, "Can not convert Python result to JS.");
	}
	Py_DECREF(result);
	end_call_python(rt);
	return js_result;
}

static JSClassDef js_python_function_class = {
	"PythonFunction",
	.finalizer = js_python_function_finalizer,
	.call = js_python_function_call,
};

// ---- _event: one frozen object per event, built in C on its first read -------------------------
//
// Context.set_event() records an event's fields; the getter that add_event_getter() defines
// builds the object on its first call after that and returns the same object until the next
// set_event(). The object has the fields of W3C 5.10.1 in one fixed order, each enumerable,
// non-writable and non-configurable, and is not extensible: what Object.freeze of the literal
// made, without the literal, the freeze or a JS call. The getter runs inside JS (GIL released),
// so set_event() converts what it can beforehand and keeps the Python strings whose UTF-8 the
// fields point into alive; a build that fails (out of memory) leaves the fields pending, so the
// next read tries again.

// name, type, sendid, origin, origintype, invokeid; data (EVENT_FIELDS: RuntimeData.event_atoms)
enum { EVENT_TEXTS = 6, EVENT_FIELDS = 7, EVENT_FLAT_MAX = 8 };
static const char *const event_field_names[EVENT_FIELDS] = {
    "name", "type", "sendid", "origin", "origintype", "invokeid", "data"};

// How the data field is made: a value converted by set_event(), a string, JSON text,
// decode(kind, text) (the datamodel's decoder, for XML trees), or a flat object (`flat`).
enum { DATA_VALUE, DATA_STRING, DATA_JSON, DATA_DECODE, DATA_FLAT };

struct EventData {
	int pending;  // fields recorded, object not built yet
	JSValue object;  // the built object (JS_UNDEFINED until built)
	PyObject *strings[EVENT_TEXTS + 2];  // owned: the texts below point into these
	const char *text[EVENT_TEXTS];  // UTF-8 (NULL: undefined)
	Py_ssize_t length[EVENT_TEXTS];
	int data_how, data_kind;
	JSValue data_value;  // DATA_VALUE: a primitive or an Object of this context (owned)
	const char *data_text;  // DATA_STRING, DATA_JSON, DATA_DECODE
	Py_ssize_t data_length;
	JSValue decode;  // DATA_DECODE (owned)
	const char *extra;  // JSON text of an object whose fields are added (NULL: none)
	Py_ssize_t extra_length;
	// DATA_FLAT: the fields of a dict of primitives (ASCII keys; text NULL: a primitive value)
	Py_ssize_t flat_count;
	PyObject *flat_strings[2 * EVENT_FLAT_MAX];  // owned: the keys and texts point into these
	struct {
		const char *key, *text;
		Py_ssize_t key_length, length;
		JSValue value;
	} flat[EVENT_FLAT_MAX];
};

// Drop what `event` holds (GIL held; JS values freed now or by the thread inside the runtime).
static void event_clear(RuntimeData *rt, EventData *event) {
	runtime_free(rt, NULL, event->object);
	runtime_free(rt, NULL, event->data_value);
	runtime_free(rt, NULL, event->decode);
	event->object = event->data_value = event->decode = JS_UNDEFINED;
	event->pending = 0;
	for (int i = 0; i < EVENT_TEXTS + 2; i++) {
		Py_CLEAR(event->strings[i]);
	}
	for (int i = 0; i < 2 * EVENT_FLAT_MAX; i++) {
		Py_CLEAR(event->flat_strings[i]);
	}
	event->flat_count = 0;
}

// Record `dict` as DATA_FLAT if it is a dict of at most EVENT_FLAT_MAX ASCII str keys to str,
// int, float, bool or None values (exact types): 1, with the values JSON.parse of its JSON text
// would give (a non-finite float is null, as orjson writes it); else 0 and nothing kept.
static int event_flat(ContextData *self, EventData *event, PyObject *dict) {
	if (!PyDict_CheckExact(dict) || PyDict_Size(dict) > EVENT_FLAT_MAX) {
		return 0;
	}
	Py_ssize_t pos = 0, n = 0;
	PyObject *key, *value;
	while (PyDict_Next(dict, &pos, &key, &value)) {
		const char *k = PyUnicode_CheckExact(key) ? PyUnicode_AsUTF8AndSize(key, &event->flat[n].key_length) : NULL;
		// ASCII only: JS_NewAtomLen looks UTF-8 up as Latin-1
		if (k == NULL || event->flat[n].key_length != PyUnicode_GetLength(key)) {
			goto refuse;
		}
		event->flat[n].key = k;
		event->flat_strings[2 * n] = Py_NewRef(key);
		event->flat[n].text = NULL;
		event->flat[n].value = JS_NULL;
		if (PyUnicode_CheckExact(value)) {
			if ((event->flat[n].text = PyUnicode_AsUTF8AndSize(value, &event->flat[n].length)) == NULL) {
				goto refuse;
			}
			event->flat_strings[2 * n + 1] = Py_NewRef(value);
		} else if (PyBool_Check(value)) {
			event->flat[n].value = JS_MKVAL(JS_TAG_BOOL, value == Py_True);
		} else if (PyLong_CheckExact(value)) {
			int overflow;
			long long i = PyLong_AsLongLongAndOverflow(value, &overflow);
			double d = overflow ? PyLong_AsDouble(value) : (double)i;
			if (d == -1.0 && PyErr_Occurred()) {
				goto refuse;  // beyond a double: the JSON text's number decides
			}
			event->flat[n].value = !overflow && i >= INT32_MIN && i <= INT32_MAX
			    ? JS_MKVAL(JS_TAG_INT, (int32_t)i) : JS_NewFloat64(self->context, d);
		} else if (PyFloat_CheckExact(value)) {
			double d = PyFloat_AsDouble(value);
			event->flat[n].value = isfinite(d) ? JS_NewFloat64(self->context, d) : JS_NULL;
		} else if (value != Py_None) {
			goto refuse;
		}
		event->flat_count = ++n;
	}
	return 1;
refuse:
	PyErr_Clear();
	for (int i = 0; i < 2 * EVENT_FLAT_MAX; i++) {
		Py_CLEAR(event->flat_strings[i]);
	}
	event->flat_count = 0;
	return 0;
}

static void event_free_atoms(RuntimeData *rt) {
	for (int i = 0; i < EVENT_FIELDS; i++) {
		if (rt->event_atoms[i] != JS_ATOM_NULL) {
			JS_FreeAtomRT(rt->runtime, rt->event_atoms[i]);
			rt->event_atoms[i] = JS_ATOM_NULL;
		}
	}
}

static void event_free(ContextData *self) {
	if (self->event != NULL) {
		event_clear(self->runtime_data, self->event);
		PyMem_Free(self->event);
		self->event = NULL;
	}
}

// UTF-8 of a str (kept alive in `*keep`) or NULL for None; -1 with an error for anything else.
static int event_text(PyObject *item, PyObject **keep, const char **text, Py_ssize_t *length) {
	if (item == Py_None) {
		*text = NULL;
		return 0;
	}
	if (!PyUnicode_Check(item)) {
		PyErr_SetString(PyExc_TypeError, "event fields must be str or None");
		return -1;
	}
	if ((*text = PyUnicode_AsUTF8AndSize(item, length)) == NULL) {
		return -1;
	}
	*keep = Py_NewRef(item);
	return 0;
}

// Context.set_event(name, type, sendid, origin, origintype, invokeid, kind, data, extra=None,
// decode=None) -> bool: the fields of the next `_event` (str, or None for undefined). `kind` and
// `data` as the datamodel's decoder takes them: 0 a primitive (str, int, float, bool, None for
// null) or an Object of this context, 1 JSON text, 2 undefined, 3 `decode(kind, data)` (a JS
// function of this context, called at the build); or 4, a dict converted here if it is flat (see
// event_flat): False, with nothing recorded, if it is not (the caller then gives its JSON).
// `extra`: JSON text of an object whose fields are added after (and replace) the standard ones.
static PyObject *context_set_event(ContextData *self, PyObject *const *args, Py_ssize_t nargs) {
	if (nargs < 8 || nargs > 10) {
		PyErr_SetString(PyExc_TypeError, "set_event() takes 8 to 10 arguments");
		return NULL;
	}
	int kind = PyLong_AsLong(args[6]);
	if (kind == -1 && PyErr_Occurred()) {
		return NULL;
	}
	PyObject *data = args[7], *extra = nargs > 8 ? args[8] : Py_None, *decode = nargs > 9 ? args[9] : Py_None;
	if (kind < 0 || kind > 4) {
		PyErr_SetString(PyExc_ValueError, "set_event(): unknown data kind");
		return NULL;
	}
	int data_how = kind == 0 ? (PyUnicode_Check(data) ? DATA_STRING : DATA_VALUE)
	             : kind == 1 ? DATA_JSON : kind == 2 ? DATA_VALUE : kind == 3 ? DATA_DECODE : DATA_FLAT;
	if ((kind == 0 && data_how == DATA_VALUE && !python_to_quickjs_possible(self, data)) ||
	    (data_how == DATA_DECODE && !python_to_quickjs_possible(self, decode))) {
		return NULL;
	}
	if ((data_how == DATA_DECODE && !PyObject_IsInstance(decode, ObjectType)) ||
	    ((data_how == DATA_JSON || data_how == DATA_DECODE) && !PyUnicode_Check(data))) {
		PyErr_SetString(PyExc_TypeError, "set_event(): JSON data needs a str (and decode a JS function)");
		return NULL;
	}
	if (context_enter(self) < 0) {
		return NULL;
	}
	PyObject *result = NULL;
	EventData *event = self->event;
	if (event == NULL) {
		if ((event = self->event = PyMem_Calloc(1, sizeof(EventData))) == NULL) {
			PyErr_NoMemory();
			goto done;
		}
		event->object = event->data_value = event->decode = JS_UNDEFINED;
	}
	event_clear(self->runtime_data, event);  // the previous event never shows through this one
	for (int i = 0; i < EVENT_TEXTS; i++) {
		if (event_text(args[i], &event->strings[i], &event->text[i], &event->length[i]) < 0) {
			goto fail;
		}
	}
	event->data_how = data_how;
	event->data_kind = kind;
	if (data_how == DATA_FLAT) {
		if (!event_flat(self, event, data)) {
			event_clear(self->runtime_data, event);
			result = Py_NewRef(Py_False);
			goto done;
		}
	} else if (data_how == DATA_VALUE) {
		// No allocation: a primitive is stored in the value, an Object is referenced.
		event->data_value = kind == 2 ? JS_UNDEFINED : python_to_quickjs(self, data);
	} else if (event_text(data, &event->strings[EVENT_TEXTS], &event->data_text, &event->data_length) < 0) {
		goto fail;
	}
	if (data_how == DATA_DECODE) {
		event->decode = python_to_quickjs(self, decode);
	}
	event->extra = NULL;
	if (extra != Py_None &&
	    event_text(extra, &event->strings[EVENT_TEXTS + 1], &event->extra, &event->extra_length) < 0) {
		goto fail;
	}
	event->pending = 1;
	result = Py_NewRef(Py_True);
	goto done;
fail:
	event_clear(self->runtime_data, event);
done:
	context_leave(self);
	return result;
}

static JSValue event_data(JSContext *ctx, EventData *event) {
	switch (event->data_how) {
	case DATA_STRING:
		return JS_NewStringLen(ctx, event->data_text, (size_t)event->data_length);
	case DATA_JSON:
		return JS_ParseJSON(ctx, event->data_text, (size_t)event->data_length, "<input>");
	case DATA_FLAT: {
		JSValue object = JS_NewObject(ctx);
		for (Py_ssize_t i = 0; i < event->flat_count && !JS_IsException(object); i++) {
			JSAtom atom = JS_NewAtomLen(ctx, event->flat[i].key, (size_t)event->flat[i].key_length);
			JSValue value = event->flat[i].text == NULL
			    ? event->flat[i].value : JS_NewStringLen(ctx, event->flat[i].text, (size_t)event->flat[i].length);
			if (atom == JS_ATOM_NULL || JS_IsException(value) ||
			    JS_DefinePropertyValue(ctx, object, atom, value, JS_PROP_C_W_E) < 0) {
				if (atom == JS_ATOM_NULL) {
					JS_FreeValue(ctx, value);
				}
				JS_FreeValue(ctx, object);
				object = JS_EXCEPTION;
			}
			JS_FreeAtom(ctx, atom);
		}
		return object;
	}
	case DATA_DECODE: {
		JSValue text = JS_NewStringLen(ctx, event->data_text, (size_t)event->data_length);
		if (JS_IsException(text)) {
			return text;
		}
		JSValue argv[2] = {JS_NewInt32(ctx, event->data_kind), text};
		JSValue value = JS_Call(ctx, event->decode, JS_UNDEFINED, 2, argv);
		JS_FreeValue(ctx, text);
		return value;
	}
	default:
		return JS_DupValue(ctx, event->data_value);
	}
}

// The frozen object of `event`'s fields, or JS_EXCEPTION.
static JSValue event_build(JSContext *ctx, RuntimeData *rt, EventData *event) {
	JSAtom *atoms = rt->event_atoms;
	JSValue values[EVENT_FIELDS];
	JSValue object = JS_UNDEFINED, extra = JS_UNDEFINED;
	JSPropertyEnum *keys = NULL;
	uint32_t key_count = 0;
	int made = 0;
	if (atoms[EVENT_FIELDS - 1] == JS_ATOM_NULL) {
		for (int f = 0; f < EVENT_FIELDS; f++) {
			if ((atoms[f] = JS_NewAtom(ctx, event_field_names[f])) == JS_ATOM_NULL) {
				event_free_atoms(rt);
				return JS_EXCEPTION;
			}
		}
	}
	for (; made < EVENT_FIELDS; made++) {
		values[made] = made < EVENT_TEXTS
		    ? (event->text[made] ? JS_NewStringLen(ctx, event->text[made], (size_t)event->length[made]) : JS_UNDEFINED)
		    : event_data(ctx, event);
		if (JS_IsException(values[made])) {
			goto fail;
		}
	}
	if (event->extra != NULL) {
		// A field of `extra` named like a standard one replaces its value in place (as an
		// assignment to the literal did); the others follow in their order.
		extra = JS_ParseJSON(ctx, event->extra, (size_t)event->extra_length, "<input>");
		if (JS_IsException(extra) ||
		    JS_GetOwnPropertyNames(ctx, &keys, &key_count, extra, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) < 0) {
			goto fail;
		}
		for (uint32_t k = 0; k < key_count; k++) {
			for (int f = 0; f < EVENT_FIELDS; f++) {
				if (keys[k].atom == atoms[f]) {
					JSValue value = JS_GetProperty(ctx, extra, atoms[f]);
					if (JS_IsException(value)) {
						goto fail;
					}
					JS_FreeValue(ctx, values[f]);
					values[f] = value;
				}
			}
		}
	}
	object = JS_NewObject(ctx);
	if (JS_IsException(object)) {
		goto fail;
	}
	for (int f = 0; f < EVENT_FIELDS; f++) {
		JSValue value = values[f];
		values[f] = JS_UNDEFINED;
		if (JS_DefinePropertyValue(ctx, object, atoms[f], value, JS_PROP_ENUMERABLE) < 0) {
			goto fail;
		}
	}
	for (uint32_t k = 0; k < key_count; k++) {
		int standard = 0;
		for (int f = 0; f < EVENT_FIELDS; f++) {
			standard |= keys[k].atom == atoms[f];
		}
		if (!standard) {
			JSValue value = JS_GetProperty(ctx, extra, keys[k].atom);
			if (JS_IsException(value) ||
			    JS_DefinePropertyValue(ctx, object, keys[k].atom, value, JS_PROP_ENUMERABLE) < 0) {
				goto fail;
			}
		}
	}
	if (JS_PreventExtensions(ctx, object) < 0) {
		goto fail;
	}
	goto done;
fail:
	JS_FreeValue(ctx, object);
	object = JS_EXCEPTION;
done:
	for (int f = 0; f < made; f++) {
		JS_FreeValue(ctx, values[f]);
	}
	if (keys != NULL) {
		JS_FreePropertyEnum(ctx, keys, key_count);
	}
	JS_FreeValue(ctx, extra);
	return object;
}

// The getter: this context's current event object (undefined before the first set_event()).
static JSValue event_get(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
	ContextData *context_data = JS_GetContextOpaque(ctx);
	EventData *event = context_data == NULL ? NULL : context_data->event;
	if (event == NULL) {
		return JS_UNDEFINED;
	}
	if (event->pending) {
		JSValue object = event_build(ctx, context_data->runtime_data, event);
		if (JS_IsException(object)) {
			return object;
		}
		event->object = object;
		event->pending = 0;
	}
	return JS_DupValue(ctx, event->object);
}

// Context.add_event_getter(name): the global `name` holds the getter of the events set_event()
// records (the datamodel's core makes it the `_event` accessor).
static PyObject *context_add_event_getter(ContextData *self, PyObject *args) {
	const char *name;
	if (!PyArg_ParseTuple(args, "s", &name) || context_enter(self) < 0) {
		return NULL;
	}
	PyObject *result = NULL;
	JSValue getter = JS_NewCFunction(self->context, event_get, "_event", 0);
	if (JS_IsException(getter)) {
		quickjs_exception_to_python(self->context);
	} else {
		JSValue global = JS_GetGlobalObject(self->context);
		int ret = JS_SetPropertyStr(self->context, global, name, getter);
		JS_FreeValue(self->context, global);
		if (ret < 0) {
			quickjs_exception_to_python(self->context);
		} else {
			result = Py_NewRef(Py_None);
		}
	}
	context_leave(self);
	return result;
}

// ---- the datamodel record: Context.record_changes, the JS `changes` helper in C ------------------
//
// What ECMAScriptDataModel.changes asks after each macrostep (docs/performance.md, "The datamodel
// record in C"), done here with the datamodel's own JS called only where a value fails to
// stringify: the enumerable string-keyed globals the document made (Object.keys order), minus
// those `hidden` maps to true, internal ones (`__orchweb_` prefix) and functions held in data
// properties (an accessor stays: Annex B __lookupGetter__ semantics), each still present (`in`)
// read and stringified as the datamodel's json() does (JSON.stringify; when it throws, `retry`
// runs the datamodel's fallback; when the read or the fallback throws, `error_text` makes
// '<' + String(err) + '>'). The JSON texts of the last call are kept per context, at most
// RECORD_MEMO_CHARS characters (UTF-16 units, as the JS helper counted), in the runtime's heap
// (so inside the memory limit). The answer is one JSON text
// [[[name, value] | [name, "JSON text", 1], ...], [gone name, ...]]: the new or changed variables
// (those past the memo cross every call, as text, compared by the caller) and the names of the
// last call no longer there. A call that throws (interrupted, out of memory, a hostile String(err))
// leaves the memo as it was.

#define RECORD_MEMO_CHARS 65536
#define RECORD_POLL 256  // variables between two looks at the deadline (the JS loop polled too)
#define RECORD_OVER JS_UNINITIALIZED  // a memo entry past RECORD_MEMO_CHARS: no text kept

typedef struct {
	JSAtom atom;    // held
	JSValue text;   // held: a string, JS_NULL for undefined, or RECORD_OVER
	JSValue value;  // held: the primitive whose text `text` is (see record_cacheable), or JS_UNINITIALIZED
	int64_t length;  // of `text` (UTF-16 units) when it is a string
} RecordEntry;

// Atoms in the order they were added, with an open-addressing index on them.
typedef struct {
	uint32_t count;
	RecordEntry *entries;
	uint32_t *slots;  // entry index + 1; 0: empty (at least twice as many slots as entries)
	uint32_t mask;
} RecordSet;

// What the last call found: its variables, in their order, and the other names it found not
// internal (functions held in data properties, mostly; their entries hold no text). The internal
// check reads a name's characters, which never change for an atom the memo holds: it is made once
// for a name that stays among the globals.
typedef struct {
	RecordSet vars;
	RecordSet plain;
} RecordMemo;

struct RecordData {
	JSValue hidden;      // the datamodel's map of hidden names
	JSValue retry;       // (err, value) -> what json(value) answers after JSON.stringify threw err
	JSValue error_text;  // (err) -> JSON text of '<' + String(err) + '>'
	JSValue memo;        // object of record_memo_class (opaque: RecordMemo) of the last call, or undefined
};

static JSClassID record_memo_class_id;

static void record_set_free(JSRuntime *rt, RecordSet *set) {
	for (uint32_t i = 0; i < set->count; i++) {
		JS_FreeAtomRT(rt, set->entries[i].atom);
		JS_FreeValueRT(rt, set->entries[i].text);
		JS_FreeValueRT(rt, set->entries[i].value);
	}
	js_free_rt(rt, set->entries);
	js_free_rt(rt, set->slots);
}

static void record_memo_free(JSRuntime *rt, RecordMemo *memo) {
	if (memo == NULL) {
		return;
	}
	record_set_free(rt, &memo->vars);
	record_set_free(rt, &memo->plain);
	js_free_rt(rt, memo);
}

// The memo lives in a JS object so that it is freed like any value of the context (runtime_free:
// by the thread inside the runtime) and stays alive while a nested call replaces it.
static void record_memo_finalizer(JSRuntime *rt, JSValue value) {
	record_memo_free(rt, JS_GetOpaque(value, record_memo_class_id));
}

static JSClassDef record_memo_class = {
	"RecordMemo",
	.finalizer = record_memo_finalizer,
};

static uint32_t record_hash(JSAtom atom) {
	uint32_t h = (uint32_t)atom * 0x9E3779B1u;
	return h ^ (h >> 16);
}

static RecordEntry *record_set_find(const RecordSet *set, JSAtom atom) {
	for (uint32_t s = record_hash(atom) & set->mask;; s = (s + 1) & set->mask) {
		uint32_t i = set->slots[s];
		if (i == 0) {
			return NULL;
		}
		if (set->entries[i - 1].atom == atom) {
			return &set->entries[i - 1];
		}
	}
}

// The last call's entry of the variable `atom`, or NULL.
static RecordEntry *record_find(const RecordMemo *memo, JSAtom atom) {
	return memo == NULL ? NULL : record_set_find(&memo->vars, atom);
}

// Whether the last call found `atom` not internal.
static int record_known(const RecordMemo *memo, JSAtom atom) {
	return memo != NULL && (record_set_find(&memo->vars, atom) != NULL || record_set_find(&memo->plain, atom) != NULL);
}

// An empty set for up to `capacity` atoms: 0, or -1 (out of memory thrown).
static int record_set_init(JSContext *ctx, RecordSet *set, uint32_t capacity) {
	uint32_t slots = 4;
	while (slots < 2 * (uint64_t)capacity) {
		slots *= 2;
	}
	set->mask = slots - 1;
	set->entries = js_malloc(ctx, sizeof(RecordEntry) * (capacity ? capacity : 1));
	set->slots = js_mallocz(ctx, sizeof(uint32_t) * slots);
	return set->entries == NULL || set->slots == NULL ? -1 : 0;
}

// An empty memo for up to `vars` variables and `plain` other names, or NULL (out of memory thrown).
static RecordMemo *record_memo_new(JSContext *ctx, uint32_t vars, uint32_t plain) {
	RecordMemo *memo = js_mallocz(ctx, sizeof(RecordMemo));
	if (memo == NULL) {
		return NULL;
	}
	if (record_set_init(ctx, &memo->vars, vars) < 0 || record_set_init(ctx, &memo->plain, plain) < 0) {
		record_memo_free(JS_GetRuntime(ctx), memo);
		return NULL;
	}
	return memo;
}

static RecordEntry *record_set_add(JSContext *ctx, RecordSet *set, JSAtom atom) {
	RecordEntry *entry = &set->entries[set->count++];
	entry->atom = JS_DupAtom(ctx, atom);
	entry->text = JS_NULL;
	entry->value = JS_UNINITIALIZED;
	entry->length = 0;
	uint32_t s = record_hash(atom) & set->mask;
	while (set->slots[s] != 0) {
		s = (s + 1) & set->mask;
	}
	set->slots[s] = set->count;
	return entry;
}

// The answer's UTF-8, in the runtime's heap while it grows.
typedef struct {
	JSContext *ctx;
	char *data;
	size_t length, size;
	int items;  // items of the current list (a comma before every one but the first)
} RecordText;

static int record_put(RecordText *out, const char *text, size_t length) {
	if (out->length + length > out->size) {
		size_t size = out->size ? out->size : 1024;
		while (size < out->length + length) {
			size *= 2;
		}
		char *grown = js_realloc(out->ctx, out->data, size);
		if (grown == NULL) {
			return -1;
		}
		out->data = grown;
		out->size = size;
	}
	memcpy(out->data + out->length, text, length);
	out->length += length;
	return 0;
}

static int record_put_string(RecordText *out, JSValueConst string) {
	size_t length;
	const char *text = JS_ToCStringLen(out->ctx, &length, string);
	if (text == NULL) {
		return -1;
	}
	int ret = record_put(out, text, length);
	JS_FreeCString(out->ctx, text);
	return ret;
}

// A name as JSON.stringify writes it (itself when only printable ASCII needing no escape).
static int record_put_name(RecordText *out, JSAtom atom) {
	JSContext *ctx = out->ctx;
	size_t length, i = 0;
	const char *name = JS_AtomToCStringLen(ctx, &length, atom);
	if (name == NULL) {
		return -1;
	}
	while (i < length && (unsigned char)name[i] >= 0x20 && (unsigned char)name[i] < 0x7f && name[i] != '"' &&
	       name[i] != '\\') {
		i++;
	}
	int ret;
	if (i == length) {
		ret = record_put(out, "\"", 1) || record_put(out, name, length) || record_put(out, "\"", 1) ? -1 : 0;
	} else {
		JSValue string = JS_AtomToString(ctx, atom);
		JSValue quoted = JS_IsException(string) ? JS_EXCEPTION : JS_JSONStringify(ctx, string, JS_UNDEFINED, JS_UNDEFINED);
		ret = JS_IsException(quoted) ? -1 : record_put_string(out, quoted);
		JS_FreeValue(ctx, quoted);
		JS_FreeValue(ctx, string);
	}
	JS_FreeCString(ctx, name);
	return ret;
}

static int record_put_item(RecordText *out) {
	return out->items++ ? record_put(out, ",", 1) : 0;
}

// Whether the global `atom` is a variable of the record: 1, 0, or -1 (exception). `known`: the last
// call found its name not internal; `*plain` is set when it is not hidden and its name not internal.
static int record_visible(JSContext *ctx, RecordData *record, JSValueConst global, JSAtom atom, int known,
                          int *plain) {
	*plain = 0;
	JSValue flag = JS_GetProperty(ctx, record->hidden, atom);
	if (JS_IsException(flag)) {
		return -1;
	}
	int hidden = JS_VALUE_GET_TAG(flag) == JS_TAG_BOOL && JS_VALUE_GET_BOOL(flag);
	JS_FreeValue(ctx, flag);
	if (hidden) {
		return 0;
	}
	if (!known) {
		size_t length;
		const char *name = JS_AtomToCStringLen(ctx, &length, atom);
		if (name == NULL) {
			return -1;
		}
		int internal = length >= 10 && memcmp(name, "__orchweb_", 10) == 0;
		JS_FreeCString(ctx, name);
		if (internal) {
			return 0;
		}
	}
	*plain = 1;
	// __lookupGetter__: the first object of the prototype chain that has the property decides; an
	// accessor with a getter stays, anything else is left out if reading it gives a function. The
	// global's own property answers without a copy of its descriptor (a setter only: G[k] reads
	// undefined); one not made yet (a lazy function), a varref or none: the descriptor's walk.
	switch (JS_GetOwnPropertyKind(ctx, global, atom)) {
	case JS_OWN_PROPERTY_DATA: case JS_OWN_PROPERTY_GETTER: case JS_OWN_PROPERTY_SETTER:
		return 1;
	case JS_OWN_PROPERTY_FUNCTION:
		return 0;
	default:
		break;
	}
	JSValue object = JS_DupValue(ctx, global), value = JS_UNDEFINED;
	int visible = -1, read = 0;
	for (;;) {
		JSPropertyDescriptor desc;
		int found = JS_GetOwnProperty(ctx, &desc, object, atom);
		if (found < 0) {
			break;
		}
		if (found) {
			if (desc.flags & JS_PROP_GETSET) {
				visible = !JS_IsUndefined(desc.getter);
				read = !visible;  // a setter only: G[k] reads undefined (the chain is not walked on)
			} else if (JS_VALUE_GET_PTR(object) == JS_VALUE_GET_PTR(global)) {
				visible = !JS_IsFunction(ctx, desc.value);  // G[k] is this very value
			} else {
				read = 1;
			}
			JS_FreeValue(ctx, desc.value);
			JS_FreeValue(ctx, desc.getter);
			JS_FreeValue(ctx, desc.setter);
			break;
		}
		JSValue proto = JS_GetPrototype(ctx, object);
		JS_FreeValue(ctx, object);
		object = proto;
		if (JS_IsException(proto)) {
			break;
		}
		if (JS_IsNull(proto)) {
			read = 1;
			break;
		}
	}
	JS_FreeValue(ctx, object);
	if (read) {
		value = JS_GetProperty(ctx, global, atom);
		visible = JS_IsException(value) ? -1 : !JS_IsFunction(ctx, value);
		JS_FreeValue(ctx, value);
	}
	return visible;
}

// Primitives whose JSON text depends on nothing but themselves (no toJSON is looked up, no JS
// runs): a variable that holds the same one as at the last call has the same text, so it is not
// stringified again. (BigInt is not one: its text comes from the datamodel's tolerant encoder.)
static int record_cacheable(JSValueConst value) {
	switch (JS_VALUE_GET_TAG(value)) {
	case JS_TAG_INT: case JS_TAG_BOOL: case JS_TAG_NULL: case JS_TAG_UNDEFINED: case JS_TAG_FLOAT64: case JS_TAG_STRING:
		return 1;
	default:
		return 0;
	}
}

static int record_same_primitive(JSContext *ctx, JSValueConst old, JSValueConst value) {
	if (JS_VALUE_GET_TAG(old) != JS_VALUE_GET_TAG(value)) {
		return 0;
	}
	switch (JS_VALUE_GET_TAG(value)) {
	case JS_TAG_INT:
		return JS_VALUE_GET_INT(old) == JS_VALUE_GET_INT(value);
	case JS_TAG_BOOL:
		return JS_VALUE_GET_BOOL(old) == JS_VALUE_GET_BOOL(value);
	case JS_TAG_FLOAT64: {
		double a = JS_VALUE_GET_FLOAT64(old), b = JS_VALUE_GET_FLOAT64(value);
		return memcmp(&a, &b, sizeof(double)) == 0;  // the same bits (0 and -0 differ: only a miss)
	}
	case JS_TAG_STRING:
		return JS_VALUE_GET_PTR(old) == JS_VALUE_GET_PTR(value) || JS_IsStrictEqual(ctx, old, value);
	default:
		return 1;  // null, undefined
	}
}

// The text of a variable as the JS helper computed it: a string, JS_NULL for undefined, or
// JS_EXCEPTION (only for what a JS `catch` does not catch, or a failing `error_text`). `old`: its
// entry of the last call (or NULL); `*cached` receives the value when it is a cacheable primitive.
static JSValue record_text(JSContext *ctx, RecordData *record, JSValueConst global, JSAtom atom,
                           const RecordEntry *old, JSValue *cached) {
	JSValue value = JS_GetProperty(ctx, global, atom), text = JS_EXCEPTION, error;
	*cached = JS_UNINITIALIZED;
	if (!JS_IsException(value)) {
		if (record_cacheable(value)) {
			*cached = JS_DupValue(ctx, value);
			if (old != NULL && !JS_IsUninitialized(old->value) && record_same_primitive(ctx, old->value, value)) {
				JS_FreeValue(ctx, value);
				return JS_DupValue(ctx, old->text);
			}
		}
		text = JS_JSONStringify(ctx, value, JS_UNDEFINED, JS_UNDEFINED);
		if (JS_IsException(text)) {
			error = JS_GetException(ctx);
			if (JS_IsUncatchableError(error)) {
				JS_Throw(ctx, error);
				JS_FreeValue(ctx, value);
				return JS_EXCEPTION;
			}
			JSValue argv[2] = {error, value};
			text = JS_Call(ctx, record->retry, JS_UNDEFINED, 2, argv);
			JS_FreeValue(ctx, error);
		}
		JS_FreeValue(ctx, value);
		if (!JS_IsException(text)) {
			return JS_IsUndefined(text) ? JS_NULL : text;
		}
	}
	error = JS_GetException(ctx);
	if (JS_IsUncatchableError(error)) {
		JS_Throw(ctx, error);
		return JS_EXCEPTION;
	}
	text = JS_Call(ctx, record->error_text, JS_UNDEFINED, 1, &error);
	JS_FreeValue(ctx, error);
	return text;
}

static int record_same(JSContext *ctx, JSValueConst old, JSValueConst text) {
	if (JS_IsNull(old) || JS_IsNull(text)) {
		return JS_IsNull(old) && JS_IsNull(text);
	}
	return JS_IsString(old) && (JS_VALUE_GET_PTR(old) == JS_VALUE_GET_PTR(text) || JS_IsStrictEqual(ctx, old, text));
}

// The deadline, looked at as QuickJS's interrupt poll does: 1 with the uncatchable InternalError.
static int record_interrupted(JSContext *ctx, ContextData *context_data) {
	if (!js_interrupt_handler(JS_GetRuntime(ctx), context_data->runtime_data)) {
		return 0;
	}
	JS_ThrowInternalError(ctx, "interrupted");
	JSValue error = JS_GetException(ctx);
	JS_SetUncatchableError(ctx, error);
	JS_Throw(ctx, error);
	return 1;
}

// One call of the record (inside the runtime, GIL released): 0 with the answer in `out`, or -1
// with the exception pending and the memo unchanged.
static int record_run(JSContext *ctx, ContextData *context_data, int reset, RecordText *out) {
	RecordData *record = context_data->record;
	JSValue global = JS_GetGlobalObject(ctx);
	// held for the call: a getter's callback may record too (the last call to finish wins, as in JS)
	JSValue last = reset ? JS_UNDEFINED : JS_DupValue(ctx, record->memo);
	RecordMemo *prev = JS_IsUndefined(last) ? NULL : JS_GetOpaque(last, record_memo_class_id), *next = NULL;
	JSPropertyEnum *keys = NULL;
	uint32_t key_count = 0, name_count = 0, plain_count = 0, known = 0;
	JSAtom *names = NULL;  // the variables first, then (from the end) the other names not internal
	int64_t kept = 0;
	int ret = -1;
	// Object.keys' list in one walk of the global's shape, or (an index or varref among them) upstream's
	int listed = JS_GetOwnEnumerableStringKeys(ctx, &keys, &key_count, global);
	if (listed > 0) {
		listed = JS_GetOwnPropertyNames(ctx, &keys, &key_count, global, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY);
	}
	if (listed < 0 ||
	    (names = js_malloc(ctx, sizeof(JSAtom) * (key_count ? key_count : 1))) == NULL) {
		goto done;
	}
	// all names are classified before any getter runs, as visibleNames() did
	for (uint32_t i = 0; i < key_count; i++) {
		int plain, visible = record_visible(ctx, record, global, keys[i].atom, record_known(prev, keys[i].atom), &plain);
		if (visible < 0) {
			goto done;
		}
		if (visible) {
			names[name_count++] = keys[i].atom;
		} else if (plain) {
			names[key_count - ++plain_count] = keys[i].atom;
		}
	}
	if ((next = record_memo_new(ctx, name_count, plain_count)) == NULL || record_put(out, "[[", 2) < 0) {
		goto done;
	}
	for (uint32_t i = 0; i < plain_count; i++) {
		record_set_add(ctx, &next->plain, names[key_count - 1 - i]);
	}
	for (uint32_t i = 0; i < name_count; i++) {
		JSAtom atom = names[i];
		if (i % RECORD_POLL == RECORD_POLL - 1 && record_interrupted(ctx, context_data)) {
			goto done;
		}
		int present = JS_HasProperty(ctx, global, atom);  // a getter may have deleted it
		if (present <= 0) {
			if (present < 0) {
				goto done;
			}
			continue;
		}
		RecordEntry *old = record_find(prev, atom);
		JSValue cached, text = record_text(ctx, record, global, atom, old, &cached);
		if (JS_IsException(text)) {
			JS_FreeValue(ctx, cached);
			goto done;
		}
		RecordEntry *entry = record_set_add(ctx, &next->vars, atom);
		known += old != NULL;
		int64_t length = 0;
		if (old != NULL && JS_IsString(text) && JS_IsString(old->text) &&
		    JS_VALUE_GET_PTR(text) == JS_VALUE_GET_PTR(old->text)) {
			length = old->length;  // the very string of the last call (a primitive held again)
		} else if (!JS_IsNull(text) && JS_GetLength(ctx, text, &length) < 0) {
			JS_FreeValue(ctx, text);
			JS_FreeValue(ctx, cached);
			goto done;
		}
		if (!JS_IsNull(text) && kept + length > RECORD_MEMO_CHARS) {
			entry->text = RECORD_OVER;  // and no value: what the memo keeps stays bounded
			JS_FreeValue(ctx, cached);
			JSValue quoted = JS_JSONStringify(ctx, text, JS_UNDEFINED, JS_UNDEFINED);
			JS_FreeValue(ctx, text);
			int failed = JS_IsException(quoted) || record_put_item(out) || record_put(out, "[", 1) ||
			             record_put_name(out, atom) || record_put(out, ",", 1) || record_put_string(out, quoted) ||
			             record_put(out, ",1]", 3);
			JS_FreeValue(ctx, quoted);
			if (failed) {
				goto done;
			}
			continue;
		}
		kept += length;
		entry->text = text;
		entry->length = length;
		entry->value = cached;
		if (old == NULL || !record_same(ctx, old->text, text)) {
			if (record_put_item(out) || record_put(out, "[", 1) || record_put_name(out, atom) ||
			    record_put(out, ",", 1) ||
			    (JS_IsNull(text) ? record_put(out, "null", 4) : record_put_string(out, text)) ||
			    record_put(out, "]", 1)) {
				goto done;
			}
		}
	}
	if (record_put(out, "],[", 3) < 0) {
		goto done;
	}
	out->items = 0;
	// every name of the last call seen again: none is gone (the names of one call are unique)
	if (prev != NULL && known < prev->vars.count) {
		for (uint32_t i = 0; i < prev->vars.count; i++) {
			if (record_find(next, prev->vars.entries[i].atom) == NULL &&
			    (record_put_item(out) || record_put_name(out, prev->vars.entries[i].atom))) {
				goto done;
			}
		}
	}
	if (record_put(out, "]]", 2) < 0) {
		goto done;
	}
	JSValue memo = JS_NewObjectClass(ctx, record_memo_class_id);
	if (JS_IsException(memo)) {
		goto done;
	}
	JS_SetOpaque(memo, next);
	next = NULL;
	JS_FreeValue(ctx, record->memo);
	record->memo = memo;
	ret = 0;
done:
	record_memo_free(JS_GetRuntime(ctx), next);
	js_free(ctx, names);
	if (keys != NULL) {
		JS_FreePropertyEnum(ctx, keys, key_count);
	}
	JS_FreeValue(ctx, last);
	JS_FreeValue(ctx, global);
	return ret;
}

// Context.set_record_helpers(P): the datamodel's JS that record_changes uses, the properties
// `hidden`, `jsonRetry` and `errorText` of P (see RecordData); once per context.
static PyObject *context_set_record_helpers(ContextData *self, PyObject *helpers) {
	if (PyObject_IsInstance(helpers, ObjectType) != 1 || !python_to_quickjs_possible(self, helpers)) {
		PyErr_SetString(PyExc_TypeError, "set_record_helpers() takes an object of this context");
		return NULL;
	}
	if (self->record != NULL) {
		PyErr_SetString(PyExc_RuntimeError, "the record's helpers are already set");
		return NULL;
	}
	if (context_enter(self) < 0) {
		return NULL;
	}
	PyObject *result = NULL;
	JSContext *ctx = self->context;
	JSValue object = ((ObjectData *)helpers)->object;
	RecordData *record = PyMem_Malloc(sizeof(RecordData));
	if (record == NULL) {
		PyErr_NoMemory();
		goto done;
	}
	record->hidden = JS_GetPropertyStr(ctx, object, "hidden");
	record->retry = JS_GetPropertyStr(ctx, object, "jsonRetry");
	record->error_text = JS_GetPropertyStr(ctx, object, "errorText");
	record->memo = JS_UNDEFINED;
	if (!JS_IsObject(record->hidden) || !JS_IsFunction(ctx, record->retry) || !JS_IsFunction(ctx, record->error_text)) {
		JS_FreeValue(ctx, record->hidden);
		JS_FreeValue(ctx, record->retry);
		JS_FreeValue(ctx, record->error_text);
		PyMem_Free(record);
		PyErr_SetString(PyExc_TypeError, "set_record_helpers(): P needs hidden, jsonRetry and errorText");
		goto done;
	}
	self->record = record;
	result = Py_NewRef(Py_None);
done:
	context_leave(self);
	return result;
}

// Context.record_changes(reset) -> str: see the top of this section (`reset`: compared with nothing).
static PyObject *context_record_changes(ContextData *self, PyObject *arg) {
	int reset = PyObject_IsTrue(arg);
	if (reset < 0) {
		return NULL;
	}
	if (self->record == NULL) {
		PyErr_SetString(PyExc_RuntimeError, "record_changes() before set_record_helpers()");
		return NULL;
	}
	ContextData *previous;
	if (prepare_call_js(self, &previous) < 0) {
		return NULL;
	}
	RecordText out = {self->context, NULL, 0, 0, 0};
	int failed = record_run(self->context, self, reset, &out);
	end_call_js(self, previous);
	PyObject *result = NULL;
	if (failed) {
		quickjs_exception_to_python(self->context);
	} else {
		result = PyUnicode_FromStringAndSize(out.data, (Py_ssize_t)out.length);
	}
	js_free(self->context, out.data);
	context_leave(self);
	return result;
}

// Drop what the record holds (GIL held; JS values freed now or by the thread inside the runtime).
static void record_free(ContextData *self) {
	RecordData *record = self->record;
	if (record != NULL) {
		self->record = NULL;
		runtime_free(self->runtime_data, NULL, record->hidden);
		runtime_free(self->runtime_data, NULL, record->retry);
		runtime_free(self->runtime_data, NULL, record->error_text);
		runtime_free(self->runtime_data, NULL, record->memo);
		PyMem_Free(record);
	}
}

// ---- _quickjs.Runtime -------------------------------------------------------------------------

// A new instance of `type`, whose constructor takes no arguments (NULL with the exception set).
static PyObject *alloc_without_arguments(PyTypeObject *type, PyObject *args, PyObject *kwds) {
	static char *kwlist[] = {NULL};
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist)) {
		return NULL;
	}
	allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
	return alloc(type, 0);
}

static PyObject *runtime_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
	RuntimeData *self = (RuntimeData *)alloc_without_arguments(type, args, kwds);
	if (self == NULL) {
		return NULL;
	}
	self->runtime = JS_NewRuntime();
	if (self->runtime == NULL) {
		Py_DECREF(self);
		return PyErr_NoMemory();
	}
	self->thread_state = NULL;
	self->owner = NULL;
	self->depth = 0;
	self->current = NULL;
	self->python_callables = NULL;
	self->pending = NULL;
	self->pending_count = self->pending_size = 0;
	JS_NewClassID(self->runtime, &js_python_function_class_id);
	JS_NewClass(self->runtime, js_python_function_class_id, &js_python_function_class);
	JS_NewClassID(self->runtime, &record_memo_class_id);
	JS_NewClass(self->runtime, record_memo_class_id, &record_memo_class);
	JS_SetRuntimeOpaque(self->runtime, self);
	JS_SetInterruptHandler(self->runtime, js_interrupt_handler, self);
	return (PyObject *)self;
}

static int runtime_traverse(RuntimeData *self, visitproc visit, void *arg) {
	for (PythonCallableNode *node = self->python_callables; node; node = node->next) {
		Py_VISIT(node->obj);
	}
	return 0;
}

// Python's GC breaks cycles through the callables (callable -> ... -> Context -> Runtime) here.
static int runtime_clear(RuntimeData *self) {
	for (PythonCallableNode *node = self->python_callables; node; node = node->next) {
		Py_CLEAR(node->obj);
	}
	return 0;
}

static void runtime_dealloc(RuntimeData *self) {
	PyObject_GC_UnTrack(self);
	if (self->runtime) {
		runtime_free_pending(self);  // no thread can be inside: nothing references us any more
		event_free_atoms(self);
		for (Py_ssize_t i = 0; i < self->shared_count; i++) {
			JS_FreeValueRT(self->runtime, self->shared[i].function);
		}
		JS_FreeRuntime(self->runtime);
	}
	for (Py_ssize_t i = 0; i < self->shared_count; i++) {
		Py_DECREF(self->shared[i].code);  // after the runtime: its functions pointed into them
	}
	PyMem_Free(self->shared);
	Py_XDECREF(self->shared_index);
	PyMem_Free(self->pending);
	freefunc free_fn = (freefunc)PyType_GetSlot(Py_TYPE(self), Py_tp_free);
	free_fn((PyObject *)self);
}

static PyObject *runtime_set_memory_limit(RuntimeData *self, PyObject *args) {
	Py_ssize_t limit;
	if (!PyArg_ParseTuple(args, "n", &limit) || runtime_enter(self) < 0) {
		return NULL;
	}
	JS_SetMemoryLimit(self->runtime, limit);
	runtime_leave(self);
	Py_RETURN_NONE;
}

static PyObject *runtime_set_max_stack_size(RuntimeData *self, PyObject *args) {
	Py_ssize_t limit;
	if (!PyArg_ParseTuple(args, "n", &limit) || runtime_enter(self) < 0) {
		return NULL;
	}
	JS_SetMaxStackSize(self->runtime, limit);
	runtime_leave(self);
	Py_RETURN_NONE;
}

// Runtime.gc_threshold: the heap size at which the next cycle collection runs (QuickJS then
// sets it to 1.5x the heap left).
static PyObject *runtime_get_gc_threshold(RuntimeData *self, void *closure) {
	return PyLong_FromSize_t(JS_GetGCThreshold(self->runtime));
}

static int runtime_set_gc_threshold_attr(RuntimeData *self, PyObject *value, void *closure) {
	size_t threshold = value == NULL ? 0 : PyLong_AsSize_t(value);
	if (threshold == (size_t)-1 && PyErr_Occurred()) {
		return -1;
	}
	if (runtime_enter(self) < 0) {
		return -1;
	}
	JS_SetGCThreshold(self->runtime, threshold);
	runtime_leave(self);
	return 0;
}

static PyGetSetDef runtime_getsetters[] = {
    {"gc_threshold", (getter)runtime_get_gc_threshold, (setter)runtime_set_gc_threshold_attr,
     "Heap size in bytes that triggers the next cycle collection.", NULL},
    {NULL}
};

static PyObject *runtime_memory(RuntimeData *self, PyObject *unused) {
	if (runtime_enter(self) < 0) {
		return NULL;
	}
	JSMemoryUsage usage;
	JS_ComputeMemoryUsage(self->runtime, &usage);
	runtime_leave(self);
	PyObject *dict = PyDict_New();
	if (dict == NULL) {
		return NULL;
	}
#define MEM_USAGE_ADD_TO_DICT(key)                          \
	{                                                       \
		PyObject *value = PyLong_FromLongLong(usage.key);   \
		if (value == NULL || PyDict_SetItemString(dict, #key, value) != 0) { \
			Py_XDECREF(value);                              \
			Py_DECREF(dict);                                \
			return NULL;                                    \
		}                                                   \
		Py_DECREF(value);                                   \
	}
	MEM_USAGE_ADD_TO_DICT(malloc_size);
	MEM_USAGE_ADD_TO_DICT(malloc_limit);
	MEM_USAGE_ADD_TO_DICT(memory_used_size);
	MEM_USAGE_ADD_TO_DICT(malloc_count);
	MEM_USAGE_ADD_TO_DICT(memory_used_count);
	MEM_USAGE_ADD_TO_DICT(atom_count);
	MEM_USAGE_ADD_TO_DICT(atom_size);
	MEM_USAGE_ADD_TO_DICT(str_count);
	MEM_USAGE_ADD_TO_DICT(str_size);
	MEM_USAGE_ADD_TO_DICT(obj_count);
	MEM_USAGE_ADD_TO_DICT(obj_size);
	MEM_USAGE_ADD_TO_DICT(prop_count);
	MEM_USAGE_ADD_TO_DICT(prop_size);
	MEM_USAGE_ADD_TO_DICT(shape_count);
	MEM_USAGE_ADD_TO_DICT(shape_size);
	MEM_USAGE_ADD_TO_DICT(js_func_count);
	MEM_USAGE_ADD_TO_DICT(js_func_size);
	MEM_USAGE_ADD_TO_DICT(js_func_code_size);
	MEM_USAGE_ADD_TO_DICT(js_func_pc2line_count);
	MEM_USAGE_ADD_TO_DICT(js_func_pc2line_size);
	MEM_USAGE_ADD_TO_DICT(c_func_count);
	MEM_USAGE_ADD_TO_DICT(array_count);
	MEM_USAGE_ADD_TO_DICT(fast_array_count);
	MEM_USAGE_ADD_TO_DICT(fast_array_elements);
	MEM_USAGE_ADD_TO_DICT(binary_object_count);
	MEM_USAGE_ADD_TO_DICT(binary_object_size);
	return dict;
}

// JS cycle collection of the whole runtime (frees what closed contexts left in cycles).
static PyObject *runtime_gc(RuntimeData *self, PyObject *unused) {
	if (runtime_enter(self) < 0) {
		return NULL;
	}
	JS_RunGC(self->runtime);
	runtime_leave(self);
	Py_RETURN_NONE;
}

static PyMethodDef runtime_methods[] = {
    {"set_memory_limit", (PyCFunction)runtime_set_memory_limit, METH_VARARGS,
     "Sets the memory limit of the runtime (all its contexts) in bytes."},
    {"set_max_stack_size", (PyCFunction)runtime_set_max_stack_size, METH_VARARGS,
     "Sets the maximum stack size in bytes."},
    {"memory", (PyCFunction)runtime_memory, METH_NOARGS, "Returns the memory usage as a dict."},
    {"gc", (PyCFunction)runtime_gc, METH_NOARGS, "Runs the JS cycle collector."},
    {NULL}
};

static PyType_Slot runtime_slots[] = {
    {Py_tp_doc, "A QuickJS runtime (heap, limits, GC) that one or more Contexts share"},
    {Py_tp_traverse, runtime_traverse},
    {Py_tp_clear, runtime_clear},
    {Py_tp_new, runtime_new},
    {Py_tp_dealloc, runtime_dealloc},
    {Py_tp_methods, runtime_methods},
    {Py_tp_getset, runtime_getsetters},
    {0, NULL}
};

static PyType_Spec runtime_spec = {
    "orchweb_quickjs.Runtime",
    sizeof(RuntimeData),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    runtime_slots
};

// ---- _quickjs.Context -------------------------------------------------------------------------

static PyObject *context_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
	static char *kwlist[] = {"runtime", "intrinsics", NULL};
	PyObject *runtime = Py_None;
	const char *intrinsics = "modern";
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|Os", kwlist, &runtime, &intrinsics)) {
		return NULL;
	}
	// "modern": every intrinsic of JS_NewContext, the less used ones created on first use
	// (patches/10-lazy-intrinsics.patch); "modern-eager": JS_NewContext itself, all created now,
	// which tests compare "modern" with; "es5": new_es5_context.
	JSContext *(*new_context)(JSRuntime *);
	if (strcmp(intrinsics, "modern") == 0) {
		new_context = JS_NewContextLazy;
	} else if (strcmp(intrinsics, "modern-eager") == 0) {
		new_context = JS_NewContext;
	} else if (strcmp(intrinsics, "es5") == 0) {
		new_context = new_es5_context;
	} else {
		PyErr_Format(PyExc_ValueError, "intrinsics must be 'modern', 'modern-eager' or 'es5', not '%s'",
		             intrinsics);
		return NULL;
	}
	if (runtime == Py_None) {
		runtime = PyObject_CallObject(RuntimeType, NULL);
		if (runtime == NULL) {
			return NULL;
		}
	} else if (PyObject_IsInstance(runtime, RuntimeType) == 1) {
		Py_INCREF(runtime);
	} else {
		PyErr_SetString(PyExc_TypeError, "runtime must be an orchweb_quickjs.Runtime");
		return NULL;
	}
	RuntimeData *rt = (RuntimeData *)runtime;
	if (runtime_enter(rt) < 0) {
		Py_DECREF(runtime);
		return NULL;
	}
	allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
	ContextData *self = (ContextData *)alloc(type, 0);
	if (self == NULL) {
		runtime_leave(rt);
		Py_DECREF(runtime);
		return NULL;
	}
	self->runtime_data = rt;  // takes the reference
	self->deadline = 0;
	self->running = self->closing = 0;
	self->objects = NULL;
	self->context = new_context(rt->runtime);
	if (self->context == NULL) {
		runtime_leave(rt);
		Py_DECREF(self);
		return PyErr_NoMemory();
	}
	JS_SetContextOpaque(self->context, self);
	JSValue global = JS_GetGlobalObject(self->context);
	JSValue fct_cls = JS_GetPropertyStr(self->context, global, "Function");
	JSValue fct_proto = JS_GetPropertyStr(self->context, fct_cls, "prototype");
	JS_FreeValue(self->context, fct_cls);
	JS_SetClassProto(self->context, js_python_function_class_id, fct_proto);
	JS_FreeValue(self->context, global);
	runtime_leave(rt);
	return (PyObject *)self;
}

static void clock_free(ContextData *self);

static int context_traverse(ContextData *self, visitproc visit, void *arg) {
	Py_VISIT(self->runtime_data);
	if (self->clock) {
		Py_VISIT(self->clock->now);
	}
	return 0;
}

static void context_dealloc(ContextData *self) {
	PyObject_GC_UnTrack(self);
	RuntimeData *rt = self->runtime_data;
	if (self->context) {
		event_free(self);
		record_free(self);
		clock_free(self);
		runtime_free(rt, self->context, JS_UNDEFINED);
	}
	Py_XDECREF(rt);
	freefunc free_fn = (freefunc)PyType_GetSlot(Py_TYPE(self), Py_tp_free);
	free_fn((PyObject *)self);
}

// Free the context now (inside its runtime): the values its Objects hold first, then the context.
// What was reachable only from it is garbage for the runtime's next cycle collection.
static void context_free_now(ContextData *self) {
	JSContext *context = self->context;
	event_free(self);
	record_free(self);
	self->context = NULL;
	ObjectData *object;
	while ((object = self->objects) != NULL) {
		self->objects = object->next;
		object->prev = object->next = NULL;
		JSValue value = object->object;
		object->object = JS_UNDEFINED;
		JS_FreeValueRT(self->runtime_data->runtime, value);
	}
	JS_SetContextOpaque(context, NULL);
	clock_free(self);
	JS_FreeContext(context);
}

// Context.close(): free the context although Python may still hold it or its Objects (they then
// raise); called while its own JS runs (from a callback), when that outermost call returns.
static PyObject *context_close(ContextData *self, PyObject *unused) {
	if (self->context == NULL || self->closing) {
		Py_RETURN_NONE;
	}
	if (runtime_enter(self->runtime_data) < 0) {
		return NULL;
	}
	self->closing = 1;
	context_leave(self);  // frees it unless its JS is running
	Py_RETURN_NONE;
}

static PyObject *context_closed(ContextData *self, void *closure) {
	return PyBool_FromLong(self->context == NULL || self->closing);
}

static PyObject *context_eval(ContextData *self, PyObject *args) {
	const char *code;
	Py_ssize_t size;
	if (!PyArg_ParseTuple(args, "s#", &code, &size)) {
		return NULL;
	}
	ContextData *previous;
	if (prepare_call_js(self, &previous) < 0) {
		return NULL;
	}
	JSValue value = JS_Eval(self->context, code, (size_t)size, "<input>", JS_EVAL_TYPE_GLOBAL);
	end_call_js(self, previous);
	PyObject *result = quickjs_to_python(self, value);
	context_leave(self);
	return result;
}

// Context.compile(source, filename="<input>", strip_source=False) -> bytes: the bytecode of a
// global program (nothing runs); a syntax error raises JSException.
static PyObject *context_compile(ContextData *self, PyObject *args, PyObject *kwds) {
	static char *kwlist[] = {"source", "filename", "strip_source", NULL};
	const char *code, *filename = "<input>";
	Py_ssize_t size;
	int strip = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "s#|sp", kwlist, &code, &size, &filename, &strip)) {
		return NULL;
	}
	ContextData *previous;
	if (prepare_call_js(self, &previous) < 0) {
		return NULL;
	}
	JSValue fn = JS_Eval(self->context, code, (size_t)size, filename,
	                     JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
	uint8_t *buf = NULL;
	size_t length = 0;
	if (!JS_IsException(fn)) {
		int flags = JS_WRITE_OBJ_BYTECODE | (strip ? JS_WRITE_OBJ_STRIP_SOURCE : 0);
		buf = JS_WriteObject(self->context, &length, fn, flags);
		JS_FreeValue(self->context, fn);
	}
	end_call_js(self, previous);
	PyObject *result = NULL;
	if (buf == NULL) {
		quickjs_exception_to_python(self->context);
	} else {
		result = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)length);
		js_free(self->context, buf);
	}
	context_leave(self);
	return result;
}

// The index of `code` (bytes) in the runtime's shared programs, added on its first use: the
// runtime keeps it until it is freed. Kept once per runtime, by identity (the bytes are kept,
// so their id is never reused meanwhile). With a `slot` (an int), kept under the slot instead: a
// program of the slot other than the kept one replaces it, so a runtime keeps one per slot (the
// datamodel's bundle of compiled expressions, rebuilt as a document's sessions compile more).
// -1 with an error.
static Py_ssize_t runtime_keep_program(RuntimeData *rt, PyObject *code, PyObject *slot) {
	if (rt->shared_index == NULL && (rt->shared_index = PyDict_New()) == NULL) {
		return -1;
	}
	PyObject *key = slot != NULL ? PyTuple_Pack(1, slot) : PyLong_FromVoidPtr(code);
	if (key == NULL) {
		return -1;
	}
	PyObject *found = PyDict_GetItemWithError(rt->shared_index, key);  // borrowed
	Py_ssize_t index = found != NULL ? PyLong_AsSsize_t(found) : -1;
	if (index >= 0 && rt->shared[index].code != code) {
		// Another program of the slot. No JS runs here (inside the runtime, with the GIL), and
		// freeing bytecode runs no finalizer; the old bytes go last (nothing points into them).
		SharedProgram *program = &rt->shared[index];
		JSValue function = program->function;
		PyObject *old = program->code;
		program->function = JS_UNINITIALIZED;
		program->code = Py_NewRef(code);
		JS_FreeValueRT(rt->runtime, function);
		Py_DECREF(old);
	}
	if (found == NULL && !PyErr_Occurred()) {
		if (rt->shared_count == rt->shared_size) {
			Py_ssize_t size = rt->shared_size ? rt->shared_size * 2 : 16;
			SharedProgram *grown = PyMem_Realloc(rt->shared, size * sizeof(SharedProgram));
			if (grown == NULL) {
				Py_DECREF(key);
				PyErr_NoMemory();
				return -1;
			}
			rt->shared = grown;
			rt->shared_size = size;
		}
		PyObject *value = PyLong_FromSsize_t(rt->shared_count);
		if (value != NULL && PyDict_SetItem(rt->shared_index, key, value) == 0) {
			index = rt->shared_count++;
			rt->shared[index].code = Py_NewRef(code);
			rt->shared[index].function = JS_UNINITIALIZED;
			rt->shared[index].copied = slot != NULL;
		}
		Py_XDECREF(value);
	}
	Py_DECREF(key);
	return index;
}

// The function bytecode of shared program `index` (of bytes `code`) for `ctx` (a reference
// JS_EvalFunction consumes): the runtime's first use reads its own, the second reads it for the
// runtime and keeps it when realm-free, else each context reads its own (a slot's program: the
// first read is kept). JS_EXCEPTION if the
// read fails (nothing changes: the next use reads again).
static JSValue runtime_shared_function(RuntimeData *rt, JSContext *ctx, Py_ssize_t index, PyObject *code,
                                       const uint8_t *buf, size_t size) {
	if (JS_VALUE_GET_TAG(rt->shared[index].function) == JS_TAG_FUNCTION_BYTECODE) {
		return JS_DupValue(ctx, rt->shared[index].function);
	}
	int flags = JS_READ_OBJ_BYTECODE | (rt->shared[index].copied ? 0 : JS_READ_OBJ_SHARED_BUF);
	JSValue function = JS_ReadObject(ctx, buf, size, flags);
	// `shared` is indexed again: a collection during the read may have run Python finalizers,
	// which may even have run another program of the slot (then this read is not kept).
	SharedProgram *program = &rt->shared[index];
	if (JS_IsException(function) || program->code != code) {
		return function;
	}
	if (JS_IsUninitialized(program->function) && !program->copied) {
		program->function = JS_NULL;
	} else if (JS_IsUninitialized(program->function) || JS_IsNull(program->function)) {
		// A slot's program is kept from its first read: its functions (the bundle's) live as
		// long as the session that read it, so keeping that read costs its top level only.
		program->function = JS_MakeRealmFree(ctx, function) ? JS_DupValue(ctx, function) : JS_UNDEFINED;
	}
	return function;
}

// Context.run_bytecode(code, value=True, share=False, slot=None): run a program compiled by
// compile(); its completion value (None when `value` is false: a script's last expression is not
// converted). `share`: its functions' source text and positions are not copied but point into
// `code` (bytes), which the runtime then keeps until it is freed: for bytecode the process keeps
// anyway (read by many contexts), never for one-off bytes. `slot` (an int; not with `share`): the
// runtime keeps the program and its first read (realm-free) under the slot until another program
// of the slot runs (its functions copy their text and positions): for bytecode replaced as it
// grows whose functions live as long as the contexts that ran it.
static PyObject *run_bytecode(ContextData *self, PyObject *bytes, int want_value, int share, PyObject *slot);

// Context.run_bytecode(code, value=True, share=False, slot=None). Positional arguments (every
// engine call: a named <script>, the libraries, the bundle) are read without the keyword parser
// and its argument tuple (~0.6k instructions a call, ~40 calls an ORS interaction); keywords go
// through PyArg_ParseTupleAndKeywords as before.
static PyObject *context_run_bytecode(ContextData *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
	if (kwnames == NULL && nargs >= 1 && nargs <= 4) {
		int want_value = 1, share = 0;
		if (nargs > 1 && (want_value = PyObject_IsTrue(args[1])) < 0) {
			return NULL;
		}
		if (nargs > 2 && (share = PyObject_IsTrue(args[2])) < 0) {
			return NULL;
		}
		return run_bytecode(self, args[0], want_value, share, nargs > 3 ? args[3] : Py_None);
	}
	static char *kwlist[] = {"code", "value", "share", "slot", NULL};
	PyObject *bytes, *slot = Py_None;
	int want_value = 1, share = 0;
	PyObject *tuple = PyTuple_New(nargs);
	if (tuple == NULL) {
		return NULL;
	}
	for (Py_ssize_t i = 0; i < nargs; i++) {
		PyTuple_SetItem(tuple, i, Py_NewRef(args[i]));  // steals the new reference; cannot fail here
	}
	PyObject *kwds = NULL;
	Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_Size(kwnames);
	if (nkw > 0 && (kwds = PyDict_New()) == NULL) {
		Py_DECREF(tuple);
		return NULL;
	}
	for (Py_ssize_t i = 0; i < nkw; i++) {
		if (PyDict_SetItem(kwds, PyTuple_GetItem(kwnames, i), args[nargs + i]) < 0) {
			Py_DECREF(tuple);
			Py_DECREF(kwds);
			return NULL;
		}
	}
	int parsed = PyArg_ParseTupleAndKeywords(tuple, kwds, "O|ppO", kwlist, &bytes, &want_value, &share, &slot);
	PyObject *result = parsed ? run_bytecode(self, bytes, want_value, share, slot) : NULL;
	Py_DECREF(tuple);  // after the run: `bytes` and `slot` are borrowed from it
	Py_XDECREF(kwds);
	return result;
}

static PyObject *run_bytecode(ContextData *self, PyObject *bytes, int want_value, int share, PyObject *slot) {
	char *code;
	Py_ssize_t size;
	if (slot == Py_None) {
		slot = NULL;
	} else if (!PyLong_Check(slot) || share) {
		PyErr_SetString(PyExc_TypeError, "run_bytecode: slot must be an int, without share");
		return NULL;
	}
	if (!PyBytes_Check(bytes)) {
		PyErr_SetString(PyExc_TypeError, "run_bytecode: code must be bytes");
		return NULL;
	}
	if (PyBytes_AsStringAndSize(bytes, &code, &size) < 0) {
		return NULL;
	}
	if (context_enter(self) < 0) {
		return NULL;
	}
	// Inside the runtime, with the GIL: no other thread reads `shared` meanwhile.
	Py_ssize_t index = -1;
	if ((share || slot) && (index = runtime_keep_program(self->runtime_data, bytes, slot)) < 0) {
		context_leave(self);
		return NULL;
	}
	ContextData *previous;
	begin_js(self, &previous);
	JSValue value = index >= 0
	    ? runtime_shared_function(self->runtime_data, self->context, index, bytes, (const uint8_t *)code, (size_t)size)
	    : JS_ReadObject(self->context, (const uint8_t *)code, (size_t)size, JS_READ_OBJ_BYTECODE);
	if (!JS_IsException(value)) {
		value = JS_EvalFunction(self->context, value);  // consumes the function
	}
	end_call_js(self, previous);
	if (!want_value && !JS_IsException(value)) {
		JS_FreeValue(self->context, value);
		value = JS_UNDEFINED;
	}
	PyObject *result = quickjs_to_python(self, value);
	context_leave(self);
	return result;
}

static PyObject *context_get(ContextData *self, PyObject *args) {
	const char *name;
	if (!PyArg_ParseTuple(args, "s", &name) || context_enter(self) < 0) {
		return NULL;
	}
	JSValue global = JS_GetGlobalObject(self->context);
	JSValue value = JS_GetPropertyStr(self->context, global, name);
	JS_FreeValue(self->context, global);
	PyObject *result = quickjs_to_python(self, value);
	context_leave(self);
	return result;
}

static PyObject *context_set(ContextData *self, PyObject *args) {
	const char *name;
	PyObject *item;
	if (!PyArg_ParseTuple(args, "sO", &name, &item) || !python_to_quickjs_possible(self, item) ||
	    context_enter(self) < 0) {
		return NULL;
	}
	JSValue global = JS_GetGlobalObject(self->context);
	int ret = JS_SetPropertyStr(self->context, global, name, python_to_quickjs(self, item));
	JS_FreeValue(self->context, global);
	context_leave(self);
	if (ret != 1) {
		PyErr_SetString(PyExc_TypeError, "Failed setting the variable.");
		return NULL;
	}
	Py_RETURN_NONE;
}

// The runtime-wide settings and figures, on the context for the callers of a private runtime.
static PyObject *context_set_memory_limit(ContextData *self, PyObject *args) {
	return runtime_set_memory_limit(self->runtime_data, args);
}

static PyObject *context_set_max_stack_size(ContextData *self, PyObject *args) {
	return runtime_set_max_stack_size(self->runtime_data, args);
}

static PyObject *context_memory(ContextData *self, PyObject *unused) {
	return runtime_memory(self->runtime_data, unused);
}

static PyObject *context_gc(ContextData *self, PyObject *unused) {
	return runtime_gc(self->runtime_data, unused);
}

static PyObject *context_add_callable(ContextData *self, PyObject *args) {
	const char *name;
	PyObject *callable;
	if (!PyArg_ParseTuple(args, "sO", &name, &callable)) {
		return NULL;
	}
	if (!PyCallable_Check(callable)) {
		PyErr_SetString(PyExc_TypeError, "Argument must be callable.");
		return NULL;
	}
	RuntimeData *rt = self->runtime_data;
	if (context_enter(self) < 0) {
		return NULL;
	}
	PyObject *result = NULL;
	JSValue function = JS_NewObjectClass(self->context, js_python_function_class_id);
	if (JS_IsException(function)) {
		quickjs_exception_to_python(self->context);
		goto done;
	}
	JS_DefinePropertyValueStr(self->context, function, "name", JS_NewString(self->context, name), JS_PROP_CONFIGURABLE);
	PythonCallableNode *node = PyMem_Malloc(sizeof(PythonCallableNode));
	if (!node) {
		JS_FreeValue(self->context, function);
		PyErr_NoMemory();
		goto done;
	}
	node->obj = Py_NewRef(callable);
	node->prev = NULL;
	node->next = rt->python_callables;
	if (rt->python_callables) {
		rt->python_callables->prev = node;
	}
	rt->python_callables = node;
	JS_SetOpaque(function, node);
	JSValue global = JS_GetGlobalObject(self->context);
	int ret = JS_SetPropertyStr(self->context, global, name, function);
	JS_FreeValue(self->context, global);
	if (ret != 1) {
		PyErr_SetString(PyExc_TypeError, "Failed adding the callable.");
		goto done;
	}
	result = Py_NewRef(Py_None);
done:
	context_leave(self);
	return result;
}

// ---- the virtual clock (patches/80-virtual-clock.patch) ---------------------------------------
//
// Context.set_clock(now, zone, seed): Date, Math.random and performance read the context's
// virtual clock natively (no JavaScript installed). `now()` gives the epoch ms (called for every
// reading of the time; anything but a float or an int, or an exception, reads as NaN: an
// Invalid Date, never the host's clock). `zone` is the bytes of the zone's tables (made by the
// datamodel once per zone, shared by every context using it): native int32 count, 4 bytes of
// padding, count - 1 float64 transitions (epoch ms), count int32 offsets (minutes east of UTC),
// count uint32 positions of NUL-terminated UTF-8 abbreviations in the text that follows.
// `seed`: four 32-bit words of Math.random's state.

static double clock_now(JSContext *ctx, void *opaque) {
	ClockData *clock = opaque;
	ContextData *context_data = JS_GetContextOpaque(ctx);
	if (context_data == NULL) {
		return NAN;
	}
	RuntimeData *rt = context_data->runtime_data;
	// Inside JS (GIL released) or from set_clock (GIL held).
	int released = rt->thread_state != NULL;
	if (released) {
		prepare_call_python(rt);
	}
	double now = NAN;
	PyObject *result = PyObject_CallNoArgs(clock->now);
	if (result != NULL && (PyFloat_Check(result) || PyLong_Check(result))) {
		now = PyFloat_AsDouble(result);
		if (now == -1.0 && PyErr_Occurred()) {
			now = NAN;
		}
	}
	Py_XDECREF(result);
	PyErr_Clear();
	if (released) {
		end_call_python(rt);
	}
	return now;
}

static void clock_free(ContextData *self) {
	ClockData *clock = self->clock;
	if (clock) {
		if (self->context) {
			JS_SetVirtualClock(self->context, NULL);
		}
		self->clock = NULL;
		Py_XDECREF(clock->now);
		Py_XDECREF(clock->zone);
		PyMem_Free(clock);
	}
}

static PyObject *context_set_clock(ContextData *self, PyObject *args) {
	PyObject *now, *zone;
	uint32_t seed[4];
	if (!PyArg_ParseTuple(args, "OS(IIII)", &now, &zone, &seed[0], &seed[1], &seed[2], &seed[3])) {
		return NULL;
	}
	if (!PyCallable_Check(now)) {
		PyErr_SetString(PyExc_TypeError, "now must be callable");
		return NULL;
	}
	const char *data = PyBytes_AsString(zone);
	Py_ssize_t size = PyBytes_Size(zone);
	int32_t count = 0;
	if (size >= 8) {
		memcpy(&count, data, sizeof(count));
	}
	Py_ssize_t tables = 8 + 8 * (Py_ssize_t)(count - 1) + 8 * (Py_ssize_t)count;
	if (count < 1 || count > 1 << 20 || size <= tables || data[size - 1] != '\0') {
		PyErr_SetString(PyExc_ValueError, "zone: not a zone table");
		return NULL;
	}
	const uint32_t *positions = (const uint32_t *)(data + 8 + 8 * (count - 1) + 4 * count);
	for (int32_t i = 0; i < count; i++) {
		if (positions[i] >= (uint64_t)(size - tables)) {
			PyErr_SetString(PyExc_ValueError, "zone: an abbreviation out of the table");
			return NULL;
		}
	}
	ClockData *clock = PyMem_Calloc(1, sizeof(ClockData));
	if (clock == NULL) {
		return PyErr_NoMemory();
	}
	clock->now = Py_NewRef(now);
	clock->zone = Py_NewRef(zone);
	clock->clock.now = clock_now;
	clock->clock.opaque = clock;
	clock->clock.count = count;
	clock->clock.transitions = (const double *)(data + 8);
	clock->clock.offsets = (const int32_t *)(data + 8 + 8 * (count - 1));
	clock->clock.abbreviations = positions;
	clock->clock.text = data + tables;
	JS_SeedVirtualClock(&clock->clock, seed);
	if (context_enter(self) < 0) {
		Py_DECREF(clock->now);
		Py_DECREF(clock->zone);
		PyMem_Free(clock);
		return NULL;
	}
	clock_free(self);
	self->clock = clock;
	PyObject *result = NULL;
	if (JS_SetVirtualClock(self->context, &clock->clock) < 0) {
		quickjs_exception_to_python(self->context);
		clock_free(self);  // never the host's clock: no clock, and the caller raises
	} else {
		result = Py_NewRef(Py_None);
	}
	context_leave(self);
	return result;
}

static PyObject *context_global_this(ContextData *self, void *closure) {
	if (context_enter(self) < 0) {
		return NULL;
	}
	PyObject *result = quickjs_to_python(self, JS_GetGlobalObject(self->context));
	context_leave(self);
	return result;
}

static PyObject *context_runtime(ContextData *self, void *closure) {
	return Py_NewRef((PyObject *)self->runtime_data);
}

static PyObject *context_get_deadline(ContextData *self, void *closure) {
	return PyFloat_FromDouble(self->deadline);
}

static int context_set_deadline(ContextData *self, PyObject *value, void *closure) {
	double deadline = value == NULL ? 0 : PyFloat_AsDouble(value);
	if (deadline == -1 && PyErr_Occurred()) {
		return -1;
	}
	self->deadline = deadline;
	return 0;
}

// deadline_in(seconds): the deadline `seconds` from now, the clock read in C (the datamodel sets
// one before each outermost JS call: ~150 an ORS interaction; `ctx.deadline = time.monotonic() +
// limit` was a Python call, a float and a descriptor's setattr each).
static PyObject *context_deadline_in(ContextData *self, PyObject *seconds) {
	double limit = PyFloat_AsDouble(seconds);
	if (limit == -1 && PyErr_Occurred()) {
		return NULL;
	}
	self->deadline = monotonic_seconds() + limit;
	Py_RETURN_NONE;
}

static PyMethodDef context_methods[] = {
    {"deadline_in", (PyCFunction)context_deadline_in, METH_O,
     "Sets the deadline `seconds` (a float) from now on the monotonic clock (time.monotonic())."},
    {"eval", (PyCFunction)context_eval, METH_VARARGS, "Evaluates a Javascript string."},
    {"compile", (PyCFunction)(void (*)(void))context_compile, METH_VARARGS | METH_KEYWORDS,
     "Compiles a global program to bytecode (bytes)."},
    {"run_bytecode", (PyCFunction)(void (*)(void))context_run_bytecode, METH_FASTCALL | METH_KEYWORDS,
     "Runs bytecode made by compile(); returns the completion value (unless value=False). "
     "share=True: its functions point into `code` (source text, positions), kept by the runtime; "
     "slot=int: kept by the runtime under the slot until another program of it runs."},
    {"get", (PyCFunction)context_get, METH_VARARGS, "Gets a Javascript global variable."},
    {"set", (PyCFunction)context_set, METH_VARARGS, "Sets a Javascript global variable."},
    {"set_memory_limit", (PyCFunction)context_set_memory_limit, METH_VARARGS,
     "Sets the memory limit of the context's runtime in bytes."},
    {"set_max_stack_size", (PyCFunction)context_set_max_stack_size, METH_VARARGS,
     "Sets the maximum stack size of the context's runtime in bytes."},
    {"memory", (PyCFunction)context_memory, METH_NOARGS, "Returns the runtime's memory usage as a dict."},
    {"gc", (PyCFunction)context_gc, METH_NOARGS, "Runs the runtime's JS cycle collector."},
    {"add_callable", (PyCFunction)context_add_callable, METH_VARARGS, "Wraps a Python callable."},
    {"set_event", (PyCFunction)(void (*)(void))context_set_event, METH_FASTCALL,
     "Records the fields of the next `_event` object (built on its first read)."},
    {"add_event_getter", (PyCFunction)context_add_event_getter, METH_VARARGS,
     "Defines a global holding the getter of the objects set_event() describes."},
    {"set_record_helpers", (PyCFunction)context_set_record_helpers, METH_O,
     "Takes the datamodel's JS helpers record_changes() uses (from its object P)."},
    {"record_changes", (PyCFunction)context_record_changes, METH_O,
     "The datamodel's variables new or changed since the last call, and those gone, as JSON."},
    {"set_clock", (PyCFunction)context_set_clock, METH_VARARGS,
     "Gives Date, Math.random and performance a virtual clock: set_clock(now, zone, seed)."},
    {"close", (PyCFunction)context_close, METH_NOARGS, "Frees the context (its Objects stop working)."},
    {NULL}
};

static PyGetSetDef context_getsetters[] = {
    {"globalThis", (getter)context_global_this, NULL, "Global object of the context.", NULL},
    {"runtime", (getter)context_runtime, NULL, "The Runtime this context lives in.", NULL},
    {"closed", (getter)context_closed, NULL, "Whether close() was called.", NULL},
    {"deadline", (getter)context_get_deadline, (setter)context_set_deadline,
     "time.monotonic() value after which this context's running JS is interrupted (0: none).", NULL},
    {NULL}
};

static PyType_Slot context_slots[] = {
    {Py_tp_doc, "A QuickJS context (global object, realm) in a Runtime of its own or a shared one"},
    {Py_tp_traverse, context_traverse},
    {Py_tp_new, context_new},
    {Py_tp_dealloc, context_dealloc},
    {Py_tp_methods, context_methods},
    {Py_tp_getset, context_getsetters},
    {0, NULL}
};

static PyType_Spec context_spec = {
    "orchweb_quickjs.Context",
    sizeof(ContextData),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    context_slots
};

// ---- JSON data and Python's cycle collector: untrack_data --------------------------------------

// Trees of dicts with str keys, lists and tuples over str, int, float, bool and None (what the
// simulator's trace records are) cannot be part of a reference cycle, so the cycle collector
// need not walk them; yet every list, and every dict holding one, stays in its lists until
// freed, and a live simulation keeps its whole trace: each full collection walked every record
// of every live simulation (docs/performance.md, "The trace out of the cycle collector").
// CPython untracks such dicts and tuples itself, but only lazily and never lists.
// Bounded: a tree deeper than DATA_MAX_DEPTH (or a cycle) or with more than DATA_MAX_CONTAINERS
// container visits (shared subtrees count each time) is left as it is.
#define DATA_MAX_DEPTH 64
#define DATA_MAX_CONTAINERS 100000

static int data_is_atom(PyObject *obj) {
	return obj == Py_None || PyUnicode_CheckExact(obj) || PyLong_CheckExact(obj) || PyBool_Check(obj) ||
	       PyFloat_CheckExact(obj);
}

// The containers a walk untracked, to track again if the tree turns out not to be data.
typedef struct {
	PyObject **items;
	Py_ssize_t len, cap;
	PyObject *inline_items[64];
} DataUndo;

// Check and untrack in one walk (the containers as the walk leaves them, once every item below
// them is data): 1 if `obj` is such a tree within the bounds; 0 otherwise, and then the caller
// tracks `undo`'s containers again. Never raises (the GIL is held and nothing here calls back).
// The same containers are visited in the same order, with the same depth and budget, as a walk
// that only checks: the same answer.
static int data_walk(PyObject *obj, int depth, Py_ssize_t *budget, DataUndo *undo) {
	if (depth >= DATA_MAX_DEPTH || --*budget < 0) {
		return 0;
	}
	if (PyDict_CheckExact(obj)) {
		Py_ssize_t pos = 0;
		PyObject *key, *value;
		while (PyDict_Next(obj, &pos, &key, &value)) {
			if (!PyUnicode_CheckExact(key) ||
			    (!data_is_atom(value) && !data_walk(value, depth + 1, budget, undo))) {
				return 0;
			}
		}
	} else if (PyList_CheckExact(obj) || PyTuple_CheckExact(obj)) {
		int list = PyList_CheckExact(obj);
		Py_ssize_t size = list ? PyList_Size(obj) : PyTuple_Size(obj);
		for (Py_ssize_t i = 0; i < size; i++) {
			PyObject *item = list ? PyList_GetItem(obj, i) : PyTuple_GetItem(obj, i);
			if (!data_is_atom(item) && !data_walk(item, depth + 1, budget, undo)) {
				return 0;
			}
		}
	} else {
		return 0;
	}
	if (PyObject_GC_IsTracked(obj)) {
		if (undo->len == undo->cap) {
			Py_ssize_t cap = undo->cap * 2;
			PyObject **items = undo->items == undo->inline_items ? PyMem_Malloc(cap * sizeof(PyObject *))
			                                                     : PyMem_Realloc(undo->items, cap * sizeof(PyObject *));
			if (items == NULL) {
				return 0;  // no room to undo: left tracked, as anything the walk does not take
			}
			if (undo->items == undo->inline_items) {
				memcpy(items, undo->inline_items, undo->len * sizeof(PyObject *));
			}
			undo->items = items;
			undo->cap = cap;
		}
		undo->items[undo->len++] = obj;
		PyObject_GC_UnTrack(obj);
	}
	return 1;
}

static PyObject *module_untrack_data(PyObject *module, PyObject *obj) {
	if (data_is_atom(obj)) {
		Py_RETURN_TRUE;
	}
	Py_ssize_t budget = DATA_MAX_CONTAINERS;
	DataUndo undo = {NULL, 0, 64, {NULL}};
	undo.items = undo.inline_items;
	int data = data_walk(obj, 0, &budget, &undo);
	if (!data) {
		// not data after all: every container the walk untracked is tracked again (into the
		// youngest generation: where in the collector's generations it was is not kept)
		for (Py_ssize_t i = 0; i < undo.len; i++) {
			PyObject_GC_Track(undo.items[i]);
		}
	}
	if (undo.items != undo.inline_items) {
		PyMem_Free(undo.items);
	}
	if (data) {
		Py_RETURN_TRUE;
	}
	Py_RETURN_FALSE;
}

static PyMethodDef module_methods[] = {
    {"untrack_data", (PyCFunction)module_untrack_data, METH_O,
     "Takes JSON-like data (dicts with str keys, lists, tuples; str, int, float, bool, None) out of "
     "the cycle collector; False (and nothing changed) for anything else or beyond the bounds."},
    {NULL}
};

// ---- Lock: the datamodel's lock of a runtime ---------------------------------------------------

// A reentrant lock like threading.RLock, whose acquire() takes no arguments: the datamodel takes
// its runtime's lock around every call into JS (~150 an ORS interaction), and RLock.acquire
// parsed its optional (blocking, timeout) with PyArg_ParseTupleAndKeywords on each
// (docs/performance.md, helper "orsrun7"). The owner and count are read and written only with the
// GIL held; a blocked acquire releases the GIL and runs signal handlers (KeyboardInterrupt) as
// RLock's does.
typedef struct {
	PyObject_HEAD
	PyThread_type_lock lock;
	unsigned long owner;  // thread ident of the holder, while count > 0
	unsigned long count;  // the holder's acquisitions not yet released
} LockData;

static PyObject *lock_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
	LockData *self = (LockData *)alloc_without_arguments(type, args, kwds);
	if (self == NULL) {
		return NULL;
	}
	self->owner = 0;
	self->count = 0;
	self->lock = PyThread_allocate_lock();
	if (self->lock == NULL) {
		Py_DECREF(self);
		return PyErr_NoMemory();
	}
	return (PyObject *)self;
}

static void lock_dealloc(LockData *self) {
	PyTypeObject *type = Py_TYPE(self);
	if (self->lock != NULL) {
		if (self->count > 0) {
			PyThread_release_lock(self->lock);
		}
		PyThread_free_lock(self->lock);
	}
	freefunc free_fn = (freefunc)PyType_GetSlot(type, Py_tp_free);
	free_fn((PyObject *)self);
	Py_DECREF(type);
}

static PyObject *lock_acquire(LockData *self, PyObject *unused) {
	unsigned long me = PyThread_get_thread_ident();
	if (self->count > 0 && self->owner == me) {
		if (self->count == (unsigned long)-1) {
			PyErr_SetString(PyExc_OverflowError, "internal lock count overflowed");
			return NULL;
		}
		self->count++;
		Py_RETURN_TRUE;
	}
	if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
		PyLockStatus status;
		do {
			Py_BEGIN_ALLOW_THREADS
			status = PyThread_acquire_lock_timed(self->lock, -1, 1);
			Py_END_ALLOW_THREADS
			if (status == PY_LOCK_INTR && Py_MakePendingCalls() < 0) {
				return NULL;  // a signal handler raised: not acquired
			}
		} while (status != PY_LOCK_ACQUIRED);
	}
	self->owner = me;
	self->count = 1;
	Py_RETURN_TRUE;
}

static PyObject *lock_release(LockData *self, PyObject *unused) {
	if (self->count == 0 || self->owner != PyThread_get_thread_ident()) {
		PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
		return NULL;
	}
	if (--self->count == 0) {
		self->owner = 0;
		PyThread_release_lock(self->lock);
	}
	Py_RETURN_NONE;
}

static PyObject *lock_exit(LockData *self, PyObject *args) {
	return lock_release(self, NULL);
}

static PyMethodDef lock_methods[] = {
    {"acquire", (PyCFunction)lock_acquire, METH_NOARGS,
     "Wait until no other thread holds the lock and take it (again, if this thread holds it); True."},
    {"release", (PyCFunction)lock_release, METH_NOARGS,
     "Release one acquisition; RuntimeError if this thread does not hold the lock."},
    {"__enter__", (PyCFunction)lock_acquire, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)lock_exit, METH_VARARGS, NULL},
    {NULL}
};

static PyType_Slot lock_slots[] = {
    {Py_tp_doc, "A reentrant lock (threading.RLock's semantics) whose acquire() takes no arguments"},
    {Py_tp_new, lock_new},
    {Py_tp_dealloc, lock_dealloc},
    {Py_tp_methods, lock_methods},
    {0, NULL}
};

static PyType_Spec lock_spec = {"orchweb_quickjs.Lock", sizeof(LockData), 0, Py_TPFLAGS_DEFAULT, lock_slots};

// ---- module -----------------------------------------------------------------------------------

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "orchweb_quickjs",
                                       "orchweb's QuickJS binding (native/quickjs/module.c)",
                                       -1, module_methods, NULL, NULL, NULL, NULL};

// 1 when build.py built this module from the counts of its training run (build.PGO)
#ifndef ORCHWEB_PROFILE_GUIDED
#define ORCHWEB_PROFILE_GUIDED 0
#endif

PyMODINIT_FUNC PyInit_orchweb_quickjs(void) {
	PyObject *module = PyModule_Create(&moduledef);
	if (module == NULL) {
		return NULL;
	}
	if ((ObjectType = PyType_FromSpec(&object_spec)) == NULL ||
	    (RuntimeType = PyType_FromSpec(&runtime_spec)) == NULL ||
	    (ContextType = PyType_FromSpec(&context_spec)) == NULL ||
	    (LockType = PyType_FromSpec(&lock_spec)) == NULL ||
	    (JSException = PyErr_NewException("orchweb_quickjs.JSException", NULL, NULL)) == NULL ||
	    (StackOverflow = PyErr_NewException("orchweb_quickjs.StackOverflow", JSException, NULL)) == NULL ||
	    (OutOfMemory = PyErr_NewException("orchweb_quickjs.OutOfMemory", JSException, NULL)) == NULL ||
	    (Interrupted = PyErr_NewException("orchweb_quickjs.Interrupted", JSException, NULL)) == NULL ||
	    PyModule_AddObjectRef(module, "Runtime", RuntimeType) < 0 ||
	    PyModule_AddObjectRef(module, "Context", ContextType) < 0 ||
	    PyModule_AddObjectRef(module, "Object", ObjectType) < 0 ||
	    PyModule_AddObjectRef(module, "Lock", LockType) < 0 ||
	    PyModule_AddObjectRef(module, "JSException", JSException) < 0 ||
	    PyModule_AddObjectRef(module, "StackOverflow", StackOverflow) < 0 ||
	    PyModule_AddObjectRef(module, "OutOfMemory", OutOfMemory) < 0 ||
	    PyModule_AddObjectRef(module, "Interrupted", Interrupted) < 0 ||
	    PyModule_AddStringConstant(module, "SOURCE_DIGEST", ORCHWEB_SOURCE_DIGEST) < 0 ||
	    PyModule_AddIntConstant(module, "PROFILE_GUIDED", ORCHWEB_PROFILE_GUIDED) < 0) {
		Py_DECREF(module);
		return NULL;
	}
	return module;
}
