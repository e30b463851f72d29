"""A function object's shape made once per context (patches/95-closure-shape.patch): a normal
function or a C function made from it has the properties, attributes, order, values, lazy
prototype and constructor bit the property definitions gave it, in every realm, and a change to one
function's properties leaves the others (which share its shape) as they were. The C side (contexts
freed in any order, out of memory at every step, under ASan) is native/quickjs/tests/closure_shape.sh.
"""

from __future__ import annotations

import orchweb_quickjs
import pytest

from tests.native.bytecode import compiled, out_of_memory_sweep

FINGERPRINT = r"""
(function () {
  function shape(f) {
    return Object.getOwnPropertyNames(f).map(function (k) {
      var d = Object.getOwnPropertyDescriptor(f, k);
      return [k, d.writable, d.enumerable, d.configurable, k === 'prototype' ? typeof d.value : d.value];
    });
  }
  function declared(a, b) { return a + b; }
  var captured = 5;
  var fns = [declared, function (x) { return x + captured; }, function named(x, y, z) {}, () => captured,
             (a, b) => a, ({m(a) { return a; }}).m, ({get g() { return 1; }}).__lookupGetter__('g'),
             function* gen(a) {}, async function as(a, b) {}, new Function('a', 'b', 'return a'),
             Function.prototype.bind.call(declared, null, 1)];
  var before = fns.map(shape);
  var protos = fns.map(function (f) {
    var d = Object.getOwnPropertyDescriptor(f, 'prototype');
    if (!d) return null;
    var p = f.prototype;
    return [p === f.prototype, p.constructor === f, Object.getPrototypeOf(p) === Object.prototype,
            Object.getOwnPropertyNames(p)];
  });
  var constructs = fns.map(function (f) { try { return typeof new f(); } catch (e) { return e.name; } });
  var a = fns[1], b = function (x) { return x; };
  delete a.name; a.extra = 1; Object.defineProperty(a, 'length', {value: 9});
  Object.freeze(fns[2]);
  var c = function (y) {};
  return JSON.stringify([before, protos, constructs, shape(a), shape(b), shape(c), Object.isFrozen(c),
                         Object.isExtensible(c)]);
})()
"""

#: FINGERPRINT's answer from upstream QuickJS without patch 95 (main at 2f9a636, modern and es5)
UPSTREAM = (
    '[[[["length",false,false,true,2],["name",false,false,true,"declared"],["prototype",true,false,fa'
    'lse,"object"]],[["length",false,false,true,1],["name",false,false,true,""],["prototype",true,fal'
    'se,false,"object"]],[["length",false,false,true,3],["name",false,false,true,"named"],["prototype'
    '",true,false,false,"object"]],[["length",false,false,true,0],["name",false,false,true,""]],[["le'
    'ngth",false,false,true,2],["name",false,false,true,""]],[["length",false,false,true,1],["name",f'
    'alse,false,true,"m"]],[["length",false,false,true,0],["name",false,false,true,"get g"]],[["lengt'
    'h",false,false,true,1],["name",false,false,true,"gen"],["prototype",true,false,false,"object"]],'
    '[["length",false,false,true,2],["name",false,false,true,"as"]],[["length",false,false,true,2],["'
    'name",false,false,true,"anonymous"],["prototype",true,false,false,"object"]],[["length",false,fa'
    'lse,true,1],["name",false,false,true,"bound declared"]]],[[true,true,true,["constructor"]],[true'
    ',true,true,["constructor"]],[true,true,true,["constructor"]],null,null,null,null,[true,false,fal'
    'se,[]],null,[true,true,true,["constructor"]],null],["object","object","object","TypeError","Type'
    'Error","TypeError","TypeError","TypeError","TypeError","object","object"],[["length",false,false'
    ',true,9],["prototype",true,false,false,"object"],["extra",true,true,true,1]],[["length",false,fa'
    'lse,true,1],["name",false,false,true,"b"],["prototype",true,false,false,"object"]],[["length",fa'
    'lse,false,true,1],["name",false,false,true,"c"],["prototype",true,false,false,"object"]],false,t'
    "rue]"
)


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_functions_of_every_kind_have_the_properties_upstream_gave_them(intrinsics):
    ctx = orchweb_quickjs.Context(intrinsics=intrinsics)
    try:
        assert ctx.eval(FINGERPRINT) == UPSTREAM
        assert ctx.eval(FINGERPRINT) == UPSTREAM  # the context's shape, made by the first run
    finally:
        ctx.close()


def test_the_functions_of_a_shared_library_take_each_context_s_realm():
    code = compiled("function Lib(a) { this.a = a; }\nvar made = function (b) { return b; };\n", "lib.js")
    runtime = orchweb_quickjs.Runtime()
    contexts = [orchweb_quickjs.Context(runtime, "es5") for _ in range(3)]
    for n, ctx in enumerate(contexts):
        ctx.run_bytecode(code, False, True)
        ctx.eval(f"Object.prototype.mark = {n};")
    for n, ctx in enumerate(contexts):
        assert (
            ctx.eval(
                "JSON.stringify([Lib.prototype.mark, made.prototype.mark, new Lib(1).mark, Lib.name, made.name,"
                " Lib.length, Object.getOwnPropertyNames(made), Lib.prototype.constructor === Lib])"
            )
            == f'[{n},{n},{n},"Lib","made",1,["length","name","prototype"],true]'
        )
    contexts[0].eval("made.extra = 1; delete Lib.name")
    assert contexts[1].eval("JSON.stringify([typeof made.extra, Lib.name])") == '["undefined","Lib"]'
    for ctx in contexts:
        ctx.close()


def test_out_of_memory_while_making_functions_throws_and_the_functions_made_are_whole():
    def whole(ctx: orchweb_quickjs.Context) -> None:
        assert ctx.eval(
            "made.every(function (f, i) { return Object.getOwnPropertyNames(f).join() =="
            " (i % 2 ? 'length,name' : 'length,name,prototype') && typeof f(1) === 'number'"
            " && (i % 2 || f.prototype.constructor === f); })"
        )

    setup = "var made = []; [].push; Object.getOwnPropertyNames; [].join; 0"
    script = "for (var i = 0; i < 100; i++) { var c = i; made.push(function (x) { return x + c; }, () => i); }"
    assert out_of_memory_sweep(setup, script, range(0, 60_000, 997), whole) == {"ok", "oom"}


C_FINGERPRINT = r"""
(function () {
  function shape(f) {
    return Object.getOwnPropertyNames(f).map(function (k) {
      var d = Object.getOwnPropertyDescriptor(f, k);
      return [k, d.writable, d.enumerable, d.configurable, typeof d.value === 'object' ? typeof d.value : d.value];
    });
  }
  var fns = [Math.max, [].push, Object.keys, String.prototype.indexOf, JSON.stringify, parseInt, Date.now,
             Date.prototype.getTime, Array.isArray, Object, Array, Function, Error, TypeError, RegExp, Date,
             Number, String, Boolean, Object.prototype.toString, py,
             Object.getOwnPropertyDescriptor(Object.prototype, '__proto__').get,
             Object.getOwnPropertyDescriptor(RegExp.prototype, 'flags').get];
  var out = fns.map(function (f) {
    return [shape(f), Object.getPrototypeOf(f) === Function.prototype,
            (function () { try { new f(); return 'new'; } catch (e) { return e.name; } })()];
  });
  var m = Math.min; delete m.name; m.extra = 1;
  out.push(shape(m), shape(Math.abs));
  return JSON.stringify(out);
})()
"""

#: C_FINGERPRINT's answers from upstream QuickJS without patch 95 (main at 2f9a636; es5 without
#: Array.fromAsync since 0d623c7, whose es5 contexts delete it)
C_UPSTREAM = {
    "modern": (
        '[[[["length",false,false,true,2],["name",false,false,true,"max"]],true,"TypeError"],[[["length",'
        'false,false,true,1],["name",false,false,true,"push"]],true,"TypeError"],[[["length",false,false,'
        'true,1],["name",false,false,true,"keys"]],true,"TypeError"],[[["length",false,false,true,1],["na'
        'me",false,false,true,"indexOf"]],true,"TypeError"],[[["length",false,false,true,3],["name",false'
        ',false,true,"stringify"]],true,"TypeError"],[[["length",false,false,true,2],["name",false,false,'
        'true,"parseInt"]],true,"TypeError"],[[["length",false,false,true,0],["name",false,false,true,"no'
        'w"]],true,"TypeError"],[[["length",false,false,true,0],["name",false,false,true,"getTime"]],true'
        ',"TypeError"],[[["length",false,false,true,1],["name",false,false,true,"isArray"]],true,"TypeErr'
        'or"],[[["length",false,false,true,1],["name",false,false,true,"Object"],["create",true,false,tru'
        'e,null],["getPrototypeOf",true,false,true,null],["setPrototypeOf",true,false,true,null],["define'
        'Property",true,false,true,null],["defineProperties",true,false,true,null],["getOwnPropertyNames"'
        ',true,false,true,null],["getOwnPropertySymbols",true,false,true,null],["groupBy",true,false,true'
        ',null],["keys",true,false,true,null],["values",true,false,true,null],["entries",true,false,true,'
        'null],["isExtensible",true,false,true,null],["preventExtensions",true,false,true,null],["getOwnP'
        'ropertyDescriptor",true,false,true,null],["getOwnPropertyDescriptors",true,false,true,null],["is'
        '",true,false,true,null],["assign",true,false,true,null],["seal",true,false,true,null],["freeze",'
        'true,false,true,null],["isSealed",true,false,true,null],["isFrozen",true,false,true,null],["from'
        'Entries",true,false,true,null],["hasOwn",true,false,true,null],["prototype",false,false,false,"o'
        'bject"]],true,"new"],[[["length",false,false,true,1],["name",false,false,true,"Array"],["isArray'
        '",true,false,true,null],["from",true,false,true,null],["of",true,false,true,null],["prototype",f'
        'alse,false,false,"object"],["fromAsync",true,false,true,null]],true,"new"],[[["length",false,fal'
        'se,true,1],["name",false,false,true,"Function"],["prototype",false,false,false,null]],true,"new"'
        '],[[["length",false,false,true,1],["name",false,false,true,"Error"],["prototype",false,false,fal'
        'se,"object"],["isError",true,false,true,null],["captureStackTrace",true,false,true,null],["stack'
        'TraceLimit",null,false,true,null],["prepareStackTrace",null,false,true,null]],true,"new"],[[["le'
        'ngth",false,false,true,1],["name",false,false,true,"TypeError"],["prototype",false,false,false,"'
        'object"]],false,"new"],[[["length",false,false,true,2],["name",false,false,true,"RegExp"],["prot'
        'otype",false,false,false,"object"],["escape",true,false,true,null]],true,"new"],[[["length",fals'
        'e,false,true,7],["name",false,false,true,"Date"],["now",true,false,true,null],["parse",true,fals'
        'e,true,null],["UTC",true,false,true,null],["prototype",false,false,false,"object"]],true,"new"],'
        '[[["length",false,false,true,1],["name",false,false,true,"Number"],["parseInt",true,false,true,n'
        'ull],["parseFloat",true,false,true,null],["isNaN",true,false,true,null],["isFinite",true,false,t'
        'rue,null],["isInteger",true,false,true,null],["isSafeInteger",true,false,true,null],["MAX_VALUE"'
        ',false,false,false,1.7976931348623157e+308],["MIN_VALUE",false,false,false,5e-324],["EPSILON",fa'
        'lse,false,false,2.220446049250313e-16],["MAX_SAFE_INTEGER",false,false,false,9007199254740991],['
        '"MIN_SAFE_INTEGER",false,false,false,-9007199254740991],["NaN",false,false,false,null],["NEGATIV'
        'E_INFINITY",false,false,false,null],["POSITIVE_INFINITY",false,false,false,null],["prototype",fa'
        'lse,false,false,"object"]],true,"new"],[[["length",false,false,true,1],["name",false,false,true,'
        '"String"],["fromCharCode",true,false,true,null],["fromCodePoint",true,false,true,null],["raw",tr'
        'ue,false,true,null],["prototype",false,false,false,"object"]],true,"new"],[[["length",false,fals'
        'e,true,1],["name",false,false,true,"Boolean"],["prototype",false,false,false,"object"]],true,"ne'
        'w"],[[["length",false,false,true,0],["name",false,false,true,"toString"]],true,"TypeError"],[[["'
        'name",false,false,true,"py"]],true,"TypeError"],[[["length",false,false,true,0],["name",false,fa'
        'lse,true,"get __proto__"]],true,"TypeError"],[[["length",false,false,true,0],["name",false,false'
        ',true,"get flags"]],true,"TypeError"],[["length",false,false,true,2],["extra",true,true,true,1]]'
        ',[["length",false,false,true,1],["name",false,false,true,"abs"]]]'
    ),
    "es5": (
        '[[[["length",false,false,true,2],["name",false,false,true,"max"]],true,"TypeError"],[[["length",'
        'false,false,true,1],["name",false,false,true,"push"]],true,"TypeError"],[[["length",false,false,'
        'true,1],["name",false,false,true,"keys"]],true,"TypeError"],[[["length",false,false,true,1],["na'
        'me",false,false,true,"indexOf"]],true,"TypeError"],[[["length",false,false,true,3],["name",false'
        ',false,true,"stringify"]],true,"TypeError"],[[["length",false,false,true,2],["name",false,false,'
        'true,"parseInt"]],true,"TypeError"],[[["length",false,false,true,0],["name",false,false,true,"no'
        'w"]],true,"TypeError"],[[["length",false,false,true,0],["name",false,false,true,"getTime"]],true'
        ',"TypeError"],[[["length",false,false,true,1],["name",false,false,true,"isArray"]],true,"TypeErr'
        'or"],[[["length",false,false,true,1],["name",false,false,true,"Object"],["create",true,false,tru'
        'e,null],["getPrototypeOf",true,false,true,null],["setPrototypeOf",true,false,true,null],["define'
        'Property",true,false,true,null],["defineProperties",true,false,true,null],["getOwnPropertyNames"'
        ',true,false,true,null],["getOwnPropertySymbols",true,false,true,null],["groupBy",true,false,true'
        ',null],["keys",true,false,true,null],["values",true,false,true,null],["entries",true,false,true,'
        'null],["isExtensible",true,false,true,null],["preventExtensions",true,false,true,null],["getOwnP'
        'ropertyDescriptor",true,false,true,null],["getOwnPropertyDescriptors",true,false,true,null],["is'
        '",true,false,true,null],["assign",true,false,true,null],["seal",true,false,true,null],["freeze",'
        'true,false,true,null],["isSealed",true,false,true,null],["isFrozen",true,false,true,null],["from'
        'Entries",true,false,true,null],["hasOwn",true,false,true,null],["prototype",false,false,false,"o'
        'bject"]],true,"new"],[[["length",false,false,true,1],["name",false,false,true,"Array"],["isArray'
        '",true,false,true,null],["from",true,false,true,null],["of",true,false,true,null],["prototype",f'
        'alse,false,false,"object"]],true,"new"],[[["length",false,false,true,1],["name",false,false,true'
        ',"Function"],["prototype",false,false,false,null]],true,"new"],[[["length",false,false,true,1],['
        '"name",false,false,true,"Error"],["prototype",false,false,false,"object"],["isError",true,false,'
        'true,null],["captureStackTrace",true,false,true,null],["stackTraceLimit",null,false,true,null],['
        '"prepareStackTrace",null,false,true,null]],true,"new"],[[["length",false,false,true,1],["name",f'
        'alse,false,true,"TypeError"],["prototype",false,false,false,"object"]],false,"new"],[[["length",'
        'false,false,true,2],["name",false,false,true,"RegExp"],["prototype",false,false,false,"object"],'
        '["escape",true,false,true,null]],true,"new"],[[["length",false,false,true,7],["name",false,false'
        ',true,"Date"],["now",true,false,true,null],["parse",true,false,true,null],["UTC",true,false,true'
        ',null],["prototype",false,false,false,"object"]],true,"new"],[[["length",false,false,true,1],["n'
        'ame",false,false,true,"Number"],["parseInt",true,false,true,null],["parseFloat",true,false,true,'
        'null],["isNaN",true,false,true,null],["isFinite",true,false,true,null],["isInteger",true,false,t'
        'rue,null],["isSafeInteger",true,false,true,null],["MAX_VALUE",false,false,false,1.79769313486231'
        '57e+308],["MIN_VALUE",false,false,false,5e-324],["EPSILON",false,false,false,2.220446049250313e-'
        '16],["MAX_SAFE_INTEGER",false,false,false,9007199254740991],["MIN_SAFE_INTEGER",false,false,fals'
        'e,-9007199254740991],["NaN",false,false,false,null],["NEGATIVE_INFINITY",false,false,false,null]'
        ',["POSITIVE_INFINITY",false,false,false,null],["prototype",false,false,false,"object"]],true,"ne'
        'w"],[[["length",false,false,true,1],["name",false,false,true,"String"],["fromCharCode",true,fals'
        'e,true,null],["fromCodePoint",true,false,true,null],["raw",true,false,true,null],["prototype",fa'
        'lse,false,false,"object"]],true,"new"],[[["length",false,false,true,1],["name",false,false,true,'
        '"Boolean"],["prototype",false,false,false,"object"]],true,"new"],[[["length",false,false,true,0]'
        ',["name",false,false,true,"toString"]],true,"TypeError"],[[["name",false,false,true,"py"]],true,'
        '"TypeError"],[[["length",false,false,true,0],["name",false,false,true,"get __proto__"]],true,"Ty'
        'peError"],[[["length",false,false,true,0],["name",false,false,true,"get flags"]],true,"TypeError'
        '"],[["length",false,false,true,2],["extra",true,true,true,1]],[["length",false,false,true,1],["n'
        'ame",false,false,true,"abs"]]]'
    ),
}


@pytest.mark.parametrize("intrinsics", ["modern", "es5"])
def test_c_functions_have_the_properties_upstream_gave_them(intrinsics):
    ctx = orchweb_quickjs.Context(intrinsics=intrinsics)
    try:
        ctx.add_callable("py", lambda *args: 1)  # one of the binding's own
        assert ctx.eval(C_FINGERPRINT) == C_UPSTREAM[intrinsics]
    finally:
        ctx.close()
