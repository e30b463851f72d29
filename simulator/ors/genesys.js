// ORS ECMAScript environment, installed once per session before the extension surfaces.
//
// * SpiderMonkey's toSource()/uneval() (ORS 8.1 embeds SpiderMonkey; Composer calls
//   `_event.toSource()` on every error path), output format `({a:1, b:"x"})`.
// * Date.prototype.toISOString when missing (ORS 8.1.2 lacked it; harmless here).
// * ORS globals Composer code calls: __Log, __Raise, __GetDocumentURL, __GetCurrentStates; and
//   __orsAssume, through which the surfaces report lookups the fakes profile cannot answer.
//   They reach the simulator through `__orsCall(name, argsJson)` (a JSON bridge defined by the
//   dialect; `__Log` with text arguments through `__orsLog`, without JSON); `__orsFakes` holds
//   the fakes-profile data the surfaces read.
// * The `_genesys` root object; each extension module adds `_genesys.<name>`.
// This file is constant text: it is compiled once and shared by every session.
(function (G) {
  function def(obj, name, fn) {
    Object.defineProperty(obj, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
  // Created once (a regex literal inside a function is a new object per call); only the
  // non-global ones are used with test(), which then does not depend on lastIndex.
  var IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/, INDEX = /^(0|[1-9][0-9]*)$/,
      SPECIAL = /[\\"\u0000-\u001f\u2028\u2029]/;
  // Memos of quoted strings and of property names as uneval writes them: a regular expression
  // test is the slow part of uneval in QuickJS (~4x a property read) and the same short strings
  // recur (every `_event.toSource()` Composer logs has the same keys and mostly the same values).
  // Bounded, per session; null-prototype objects, so any string is a plain own-property key.
  var QUOTED = Object.create(null), KEYS = Object.create(null), memoFree = 256;
  function quote(s) {
    s = String(s);
    var q = s.length <= 32 ? QUOTED[s] : undefined;
    if (q !== undefined) return q;
    q = SPECIAL.test(s) ? escaped(s) : '"' + s + '"';  // the common case: nothing to escape
    if (s.length <= 32 && memoFree > 0) { QUOTED[s] = q; memoFree--; }
    return q;
  }
  function keyText(k) {
    var t = KEYS[k];
    if (t === undefined) {
      t = IDENT.test(k) || INDEX.test(k) ? k : quote(k);
      if (memoFree > 0) { KEYS[k] = t; memoFree--; }
    }
    return t;
  }
  function escaped(s) {
    return '"' + s.replace(/[\\"\u0000-\u001f\u2028\u2029]/g, function (c) {
      switch (c) {
        case '\\': return '\\\\';
        case '"': return '\\"';
        case '\n': return '\\n';
        case '\r': return '\\r';
        case '\t': return '\\t';
        case '\b': return '\\b';
        case '\f': return '\\f';
        case '\v': return '\\v';
        default: var h = c.charCodeAt(0).toString(16); return '\\u' + '0000'.substring(h.length) + h;
      }
    }) + '"';
  }
  function src(v, seen, top) {
    switch (typeof v) {
      case 'undefined': return '(void 0)';
      case 'string': return quote(v);
      case 'number': return (v === 0 && 1 / v < 0) ? '-0' : String(v);
      case 'boolean': return String(v);
      case 'function': return v.toString();
      case 'bigint': return String(v) + 'n';
      case 'symbol': return v.toString();
    }
    if (v === null) return 'null';
    if (seen.indexOf(v) >= 0) return '{}';
    if (v instanceof Date) return '(new Date(' + v.getTime() + '))';
    if (v instanceof RegExp) return v.toString();
    if (v instanceof String) return '(new String(' + quote(v.valueOf()) + '))';
    if (v instanceof Number) return '(new Number(' + src(v.valueOf(), seen) + '))';
    if (v instanceof Boolean) return '(new Boolean(' + v.valueOf() + '))';
    seen.push(v);
    var out;
    if (Array.isArray(v)) {
      var parts = [];
      for (var i = 0; i < v.length; i++) parts.push(i in v ? src(v[i], seen, false) : '');
      out = '[' + parts.join(', ') + (v.length > 0 && !((v.length - 1) in v) ? ',' : '') + ']';
    } else {
      var items = [];
      for (var k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        var key = keyText(k);
        var val;
        try { val = v[k]; } catch (e) { val = undefined; }
        items.push(key + ':' + src(val, seen, false));
      }
      out = '{' + items.join(', ') + '}';
      if (top) out = '(' + out + ')';
    }
    seen.pop();
    return out;
  }
  function uneval(v) { return src(v, [], true); }
  def(G, 'uneval', uneval);
  var protos = [Object.prototype, Array.prototype, String.prototype, Number.prototype, Boolean.prototype,
                Date.prototype, RegExp.prototype];
  for (var p = 0; p < protos.length; p++) {
    def(protos[p], 'toSource', function () { return uneval(this); });
  }
  def(Function.prototype, 'toSource', function () { return this.toString(); });
  if (!Date.prototype.toISOString) {
    def(Date.prototype, 'toISOString', function () { return JSON.parse(JSON.stringify(this)); });
  }

  function call(name, args) { return __orsCall(name, JSON.stringify(Array.prototype.slice.call(args))); }
  // __Log with text arguments only (nearly every call) passes them natively to `__orsLog`: JSON
  // text of them would read back as the same strings and nulls. A string the binding cannot
  // convert (a lone surrogate) throws an InternalError before Python runs: JSON takes it then.
  var InternalErr = InternalError;
  function textOnly(args) {
    if (args.length > 3) return false;  // extra arguments go through JSON.stringify, as ever
    for (var i = 0; i < args.length; i++) {
      var t = typeof args[i];
      if (t !== 'string' && t !== 'undefined' && args[i] !== null) return false;
    }
    return true;
  }
  def(G, '__Log', function (message, label, level) {
    if (textOnly(arguments)) {
      try {
        __orsLog.apply(undefined, arguments);
        return;
      } catch (e) {
        if (!(e instanceof InternalErr)) throw e;
      }
    }
    call('log', arguments);
  });
  def(G, '__Raise', function (name, data) { call('raise', arguments); });
  def(G, '__GetDocumentURL', function () { return __orsFakes.document_url; });
  def(G, '__GetCurrentStates', function () { return call('states', arguments); });
  def(G, '__orsNow', function () { return call('now', arguments); });
  // A lookup the fakes profile cannot answer: report what was asked and the default used (an
  // `assumption` trace record; `path` is where the answer goes in the profile), return `used`.
  def(G, '__orsAssume', function (what, asked, used, path, value) { call('assume', arguments); return used; });
  G._genesys = {};
})(globalThis);
