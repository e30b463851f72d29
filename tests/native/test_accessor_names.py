"""The built-in accessors' names (patches/99-snprintf-free-accessor-names.patch: made without
snprintf): each getter is named "get " and each setter "set " followed by its property's name, as
ECMA-262 and upstream's snprintf name them."""

from __future__ import annotations

import json

import orchweb_quickjs
import pytest

#: every accessor of an object reachable from globalThis (own properties and prototypes, the
#: lazy groups touched first): [path, key, getter name, setter name]
ACCESSORS = r"""
(function () {
  // realise the lazy groups (an "es5" context has none of them)
  [typeof Proxy, typeof Map, typeof Uint8Array, typeof WeakRef, typeof performance, typeof DOMException];
  var seen = [], out = [];
  function label(key) { return typeof key === 'symbol' ? '[' + key.description + ']' : key; }
  function walk(o, path) {
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.indexOf(o) >= 0) return;
    seen.push(o);
    Reflect.ownKeys(o).forEach(function (key) {
      var d = Object.getOwnPropertyDescriptor(o, key);
      if (d.get || d.set) {
        out.push([path, label(key), d.get ? d.get.name : null, d.set ? d.set.name : null]);
      } else if (path.split('.').length < 4) {
        walk(d.value, path + '.' + label(key));
      }
    });
    walk(Object.getPrototypeOf(o), path + '.__proto__');
  }
  walk(globalThis, 'globalThis');
  return JSON.stringify(out);
})()
"""


@pytest.mark.parametrize("intrinsics", ["modern", "modern-eager", "es5"])
def test_every_built_in_accessor_is_named_get_or_set_and_its_property(intrinsics):
    ctx = orchweb_quickjs.Context(intrinsics=intrinsics)
    accessors = json.loads(ctx.eval(ACCESSORS))
    assert len(accessors) > (40 if intrinsics != "es5" else 20)
    wrong = [
        entry
        for entry in accessors
        if (entry[2] is not None and entry[2] != "get " + entry[1])
        or (entry[3] is not None and entry[3] != "set " + entry[1])
    ]
    # not from function lists: Function.prototype's `caller`/`arguments` (%ThrowTypeError%) and
    # Iterator.prototype.constructor (two data functions), all unnamed
    assert sorted(entry[1] for entry in wrong) == ["arguments", "caller", "constructor"], wrong
    assert all(entry[2] == "" for entry in wrong)
    names = {(entry[1], entry[2], entry[3]) for entry in accessors}
    assert ("flags", "get flags", None) in names
    assert ("__proto__", "get __proto__", "set __proto__") in names
    assert ("[Symbol.species]", "get [Symbol.species]", None) in names
