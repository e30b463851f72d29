"""JSON.stringify without its JS bookkeeping (patches/99-json-stringify-bookkeeping.patch): no holder
object without a replacer function, the open objects in a C array, an object's keys as atoms, an
array index's string only for a toJSON or a replacer. The text, and every getter, toJSON, proxy
trap and replacer call with its arguments and `this`, are upstream's: the cases below were written
down from the build before the patch. The datamodel record (Context.record_changes) stringifies
every variable after each macrostep through the same function.
"""

from __future__ import annotations

import json

import orchweb_quickjs
import pytest

from tests.native.bytecode import out_of_memory_sweep

#: (expression, what upstream's JSON.stringify gave), each in a fresh context
CASES = [
    (
        'JSON.stringify({a:1,b:[1,2,{c:3}],d:"x\\"y",e:undefined,f:function(){},g:Symbol(\'s\'),h:null,i:NaN,j:-0,k:1e21})',
        '{"a":1,"b":[1,2,{"c":3}],"d":"x\\"y","h":null,"i":null,"j":0,"k":1e+21}',
    ),
    ("JSON.stringify([undefined, function(){}, Symbol('x'), 1, \"a\", [], {}])", '[null,null,null,1,"a",[],{}]'),
    ("JSON.stringify({2:'a',1:'b',x:'c',[Symbol('q')]:1})", '{"1":"b","2":"a","x":"c"}'),
    (
        "(function(){var log=[];var o={a:1,get b(){log.push('b');delete this.c;Object.defineProperty(this,'d',{enumerable:false,value:4,configurable:true});this.e=5;return 2},c:3,d:4};return JSON.stringify(o)+JSON.stringify(log)})()",  # noqa: E501
        '{"a":1,"b":2,"d":4}["b"]',
    ),
    (
        "(function(){var log=[];var p=new Proxy({a:1,b:2},{ownKeys(t){log.push('ownKeys');return Reflect.ownKeys(t)},getOwnPropertyDescriptor(t,k){log.push('gopd:'+String(k));return Reflect.getOwnPropertyDescriptor(t,k)},get(t,k,r){log.push('get:'+String(k));return Reflect.get(t,k,r)}});return JSON.stringify({p:p})+JSON.stringify(log)})()",  # noqa: E501
        '{"p":{"a":1,"b":2}}["get:toJSON","ownKeys","gopd:a","gopd:b","get:a","get:b"]',
    ),
    (
        "(function(){var keys=[];var o={a:{toJSON(k){keys.push(k);return 'A'}},b:[{toJSON(k){keys.push(typeof k+':'+k);return 'B'}},5n,7]};try{JSON.stringify(o)}catch(e){keys.push(String(e))};BigInt.prototype.toJSON=function(k){keys.push('big:'+typeof k+k);return 'bi'};var r=JSON.stringify(o);delete BigInt.prototype.toJSON;return r+JSON.stringify(keys)})()",  # noqa: E501
        '{"a":"A","b":["B","bi",7]}["a","string:0","TypeError: BigInt are forbidden in JSON.stringify","a","string:0","big:string1"]',  # noqa: E501
    ),
    (
        "(function(){var calls=[];var r=JSON.stringify({a:[1,{b:2}],c:'x'},function(k,v){calls.push([typeof this, Array.isArray(this), k, JSON.stringify(Object.keys(this))]);return v});return r+JSON.stringify(calls)})()",  # noqa: E501
        '{"a":[1,{"b":2}],"c":"x"}[["object",false,"","[\\"\\"]"],["object",false,"a","[\\"a\\",\\"c\\"]"],["object",true,"0","[\\"0\\",\\"1\\"]"],["object",true,"1","[\\"0\\",\\"1\\"]"],["object",false,"b","[\\"b\\"]"],["object",false,"c","[\\"a\\",\\"c\\"]"]]',
    ),
    (
        "(function(){var calls=[];JSON.stringify(7,function(k,v){calls.push([k, JSON.stringify(this), Object.getPrototypeOf(this)===Object.prototype]);return v});return JSON.stringify(calls)})()",  # noqa: E501
        '[["","{\\"\\":7}",true]]',
    ),
    ("JSON.stringify({b:1,a:2,c:{b:1,a:2}},['a','c','a',1])", '{"a":2,"c":{"a":2}}'),
    ("JSON.stringify({1:1,a:2},[1,'a',new String('a'),new Number(1),{}])", '{"1":1,"a":2}'),
    (
        "JSON.stringify({a:[1,{b:[2,[3]]}]},null,2)",
        '{\n  "a": [\n    1,\n    {\n      "b": [\n        2,\n        [\n          3\n        ]\n      ]\n    }\n  ]\n}',  # noqa: E501
    ),
    (
        "JSON.stringify({a:[1,{b:[2,[3]]}]},null,'--')",
        '{\n--"a": [\n----1,\n----{\n------"b": [\n--------2,\n--------[\n----------3\n--------]\n------]\n----}\n--]\n}',  # noqa: E501
    ),
    (
        "(function(){var o={};o.self=o;try{return JSON.stringify(o)}catch(e){return String(e)}})()",
        "TypeError: circular reference",
    ),
    (
        "(function(){var a=[];a.push({x:a});try{return JSON.stringify(a)}catch(e){return String(e)}})()",
        "TypeError: circular reference",
    ),
    ("(function(){var o={};var x={o:o, p:o, q:[o,o]};return JSON.stringify(x)})()", '{"o":{},"p":{},"q":[{},{}]}'),
    ("JSON.stringify(new Uint8Array([1,2,3]))", '{"0":1,"1":2,"2":3}'),
    ("JSON.stringify([,1,,2])", "[null,1,null,2]"),
    (
        "JSON.stringify(Object.create({inh:1},{own:{value:2,enumerable:true},hid:{value:3,enumerable:false}}))",
        '{"own":2}',
    ),
    (
        "JSON.stringify({d:new Date(0), r:/x/g, m:new Map([[1,2]]), s:new Set([1]), n:new Number(3), str:new String('s'), b:new Boolean(false)})",  # noqa: E501
        '{"d":"1970-01-01T00:00:00.000Z","r":{},"m":{},"s":{},"n":3,"str":"s","b":false}',
    ),
    (
        "(function(){var a=[1,2,3];Object.defineProperty(a,1,{get(){a.length=1;return 'g'}});return JSON.stringify(a)})()",  # noqa: E501
        '[1,"g",null]',
    ),
    (
        "(function(){var o={a:1,b:2,c:3};Object.defineProperty(o,'a',{get(){delete o.b;return 'A'},enumerable:true});return JSON.stringify(o)})()",  # noqa: E501
        '{"a":"A","c":3}',
    ),
    (
        "(function(){var o={};for(var i=0;i<50;i++)o['k'+(49-i)]=i;o[3]=1;o[1]=2;return JSON.stringify(o)})()",
        '{"1":2,"3":1,"k49":0,"k48":1,"k47":2,"k46":3,"k45":4,"k44":5,"k43":6,"k42":7,"k41":8,"k40":9,"k39":10,"k38":11,"k37":12,"k36":13,"k35":14,"k34":15,"k33":16,"k32":17,"k31":18,"k30":19,"k29":20,"k28":21,"k27":22,"k26":23,"k25":24,"k24":25,"k23":26,"k22":27,"k21":28,"k20":29,"k19":30,"k18":31,"k17":32,"k16":33,"k15":34,"k14":35,"k13":36,"k12":37,"k11":38,"k10":39,"k9":40,"k8":41,"k7":42,"k6":43,"k5":44,"k4":45,"k3":46,"k2":47,"k1":48,"k0":49}',
    ),
    (
        "JSON.stringify({'\\u2028':'\\ud800', 'é':'\\u0007', '\"q\"':'\\\\'})",
        '{"\u2028":"\\ud800","é":"\\u0007","\\"q\\"":"\\\\"}',
    ),
    ("JSON.stringify(undefined)", None),
    ("JSON.stringify(function(){})", None),
    ("JSON.stringify({toJSON(){return undefined}})", None),
    ("JSON.stringify([{toJSON(){return undefined}}])", "[null]"),
    (
        "(function(){var o={a:1};var p=new Proxy([1,{b:2}],{});return JSON.stringify([p,o,p])})()",
        '[[1,{"b":2}],{"a":1},[1,{"b":2}]]',
    ),
    (
        "(function(){try{return JSON.stringify({a:{toJSON(){throw new Error('boom')}}})}catch(e){return String(e)}})()",
        "Error: boom",
    ),
    (
        "(function(){try{return JSON.stringify({a:1,get b(){throw new Error('getter')}})}catch(e){return String(e)}})()",  # noqa: E501
        "Error: getter",
    ),
    (
        "(function(){try{return JSON.stringify({a:[1,2n]})}catch(e){return String(e)}})()",
        "TypeError: BigInt are forbidden in JSON.stringify",
    ),
    (
        "(function(){var r=[];var o={a:{b:1}};JSON.stringify(o,function(k,v){if(k==='a'){return [this===o, Object.keys(this)]}return v});return JSON.stringify(JSON.stringify(o,function(k,v){if(k==='a'){return [this===o, Object.keys(this)]}return v}))})()",  # noqa: E501
        '"{\\"a\\":[true,[\\"a\\"]]}"',
    ),
    ("JSON.stringify({a:JSON.rawJSON('1e1000'), b:[JSON.rawJSON('\"x\"')]})", '{"a":1e1000,"b":["x"]}'),
    (
        "(function(){var o={x:1};Object.defineProperty(o,'y',{get(){Object.defineProperty(o,'z',{enumerable:false,value:0,configurable:true});return 2},enumerable:true});o.z=3;return JSON.stringify(o)})()",  # noqa: E501
        '{"x":1,"y":2,"z":0}',
    ),
    ("JSON.stringify([(function(){return arguments})(1,'a',{b:2})])", '[{"0":1,"1":"a","2":{"b":2}}]'),
    (
        "(function(){class A{#p=1;constructor(){this.x=1;this[Symbol.iterator]=2}get y(){return 3}};var a=new A();a.z=[a.x];return JSON.stringify(a)})()",  # noqa: E501
        '{"x":1,"z":[1]}',
    ),
    (
        "(function(){class L extends Array{};var l=L.from([1,{a:2}]);l.extra=3;return JSON.stringify({l:l})})()",
        '{"l":[1,{"a":2}]}',
    ),
    (
        "(function(){var log=[];var p=new Proxy([1,{b:2}],{get(t,k,r){log.push('get:'+String(k));return Reflect.get(t,k,r)}});return JSON.stringify([p])+JSON.stringify(log)})()",  # noqa: E501
        '[[1,{"b":2}]]["get:toJSON","get:length","get:0","get:1"]',
    ),
    (
        "(function(){var o=Object.create(null);o.b=1;o.a=Object.create(null);return JSON.stringify(o)})()",
        '{"b":1,"a":{}}',
    ),
]


@pytest.mark.parametrize(("expression", "answer"), CASES)
def test_stringify_gives_upstreams_text_and_calls(expression, answer, ctx):
    assert ctx.eval(expression) == answer


#: objects with no key to list, of every make (patches/99b-json-empty-object.patch skips the listing
#: for an ordinary object without any property), and the toJSON lookups around them: the answer
#: written down from the build before that patch
EMPTY = (
    "(function(){var n=0;var gone={a:1,b:2};delete gone.a;delete gone.b;"
    "var vals=[{},Object.create(null),Object.create({a:1}),new Map([[1,2]]),new Set([1]),new (class{})(),"
    "Object.create(Object.create(null)),Object.freeze({}),Object.seal({}),new Error('x'),gone,{[Symbol('s')]:1},"
    "Object.defineProperty({},'x',{value:1}),Object.create({toJSON(){return 'T'}}),new Proxy({},{}),[],{e:{}}];"
    "var plain=JSON.stringify(vals);"
    "Object.defineProperty(Object.prototype,'toJSON',{get(){n++;return undefined},configurable:true});"
    "var watched=JSON.stringify([{},Object.create(Object.prototype),{a:{}}]);delete Object.prototype.toJSON;"
    "return plain+watched+n})()"
)


def test_objects_without_keys_give_upstreams_text_and_lookups(ctx):
    assert ctx.eval(EMPTY) == '[{},{},{},{},{},{},{},{},{},{},{},{},{},"T",{},[],{"e":{}}][{},{},{"a":{}}]5'


def test_deep_objects_and_arrays_past_the_inline_stack_and_a_cycle_at_depth(ctx):
    deep = ctx.eval(
        "var o = {}, c = o; for (var i = 0; i < 300; i++) { c.n = [{i: i}]; c = c.n[0]; } JSON.stringify(o)"
    )
    expected: dict = {}
    c = expected
    for i in range(300):
        c["n"] = [{"i": i}]
        c = c["n"][0]
    assert deep == json.dumps(expected, separators=(",", ":"))
    # a cycle closed 600 objects down is found; the same object twice side by side is no cycle
    assert ctx.eval("c.back = o.n[0]; try { JSON.stringify(o); 'no' } catch (e) { String(e) }") == (
        "TypeError: circular reference"
    )
    assert ctx.eval("delete c.back; var s = {}; JSON.stringify([s, [s, {s: s}], s])") == '[{},[{},{"s":{}}],{}]'


def test_stringify_keeps_no_js_object_of_its_own_while_it_runs(ctx):
    """A getter read inside JSON.stringify sees as many objects alive as when read directly:
    no holder, no stack array, no array of keys (upstream: 3 to 5 more)."""
    ctx.add_callable("objects", lambda: ctx.memory()["obj_count"])
    extra = ctx.eval(
        """
        JSON.stringify({});  // JSON made (lazily) before counting
        var o = {a: {b: {c: [1, {d: 2}]}}, get probe() { return objects(); }};
        [o, {x: [{y: o}]}, [o], [[o, 1], 2]].map(function (v) {
          var direct = o.probe;
          return +JSON.stringify(v).replace(/.*"probe":(\\d+).*/, '$1') - direct;
        }).join(',')
        """
    )
    assert extra == "0,0,0,0"


def test_out_of_memory_in_deep_stringify_throws_the_limit_error_and_the_context_stays_whole():
    setup = "var o = {}, c = o; for (var i = 0; i < 200; i++) { c.n = [{i: i, k: 'v' + i}]; c = c.n[0]; } 0"
    script = "JSON.stringify([o, o]).length"

    def whole(ctx: orchweb_quickjs.Context) -> None:
        assert ctx.eval(script) == ctx.eval("2 * JSON.stringify(o).length + 3")

    assert out_of_memory_sweep(setup, script, range(0, 60_000, 1_499), whole) == {"ok", "oom"}
