// The simulation clock as JavaScript, as orchweb installed it in every session that touched Date
// before QuickJS read a virtual clock natively (patches/80-virtual-clock.patch): the reference
// that tests/scxml/test_clock_native.py compares the native clock with. Verbatim from
// simulator/scxml/datamodel.py's _TIME (commit 2da15d3); not used by the simulator.
(function (G) {
  'use strict';
  return function (rawNow, cfgText) {
    var now = G[rawNow];
    delete G[rawNow];
    var cfg = JSON.parse(cfgText), TR = cfg.transitions, OF = cfg.offsets, AB = cfg.abbreviations,
        ND = G.Date, NP = ND.prototype, apply = Reflect.apply, defineProperty = Object.defineProperty,
        setPrototypeOf = Object.setPrototypeOf, floor = Math.floor, abs = Math.abs,
        StringCtor = String, NumberCtor = Number, nativeParse = ND.parse, nativeUTC = ND.UTC,
        getTime = NP.getTime, setTime = NP.setTime, DAY = 86400000;
    var DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'],
        MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    // Plain loops and one descriptor object for the methods below: the document may have replaced
    // Array.prototype methods, and each descriptor literal was an object built per definition.
    var U = {}, UNITS = ['FullYear', 'Month', 'Date', 'Day', 'Hours', 'Minutes', 'Seconds', 'Milliseconds'];
    for (var u = 0; u < UNITS.length; u++) {
      U['get' + UNITS[u]] = NP['getUTC' + UNITS[u]];
      if (UNITS[u] !== 'Day') U['set' + UNITS[u]] = NP['setUTC' + UNITS[u]];
    }
    var METHOD = {value: undefined, writable: true, enumerable: false, configurable: true};

    function nowMs() { return +now(); }
    function index(t) {
      var lo = 0, hi = TR.length, mid;
      while (lo < hi) { mid = (lo + hi) >> 1; if (TR[mid] <= t) lo = mid + 1; else hi = mid; }
      return lo;
    }
    function offsetAt(t) { return OF[index(t)] * 60000; }
    // ECMA-262 UTC(t): a repeated wall time is its earliest instant; one skipped by a forward
    // change is read with the offset in force before the change (02:30 -> 03:30).
    function utcOf(local) {
      var a = offsetAt(local - DAY), b = offsetAt(local + DAY),
          okA = offsetAt(local - a) === a, okB = offsetAt(local - b) === b;
      if (okA && okB) return local - (a > b ? a : b);
      return local - (okB && !okA ? b : a);
    }
    function tv(d) { return apply(getTime, d, []); }  // TypeError for a non-Date, as natively
    function local(d) { var t = tv(d); return t !== t ? null : new ND(t + offsetAt(t)); }
    function pad(n, w) { var s = StringCtor(n); while (s.length < w) s = '0' + s; return s; }

    function getter(name) {
      var f = U[name];
      return function () { var l = local(this); return l === null ? NaN : apply(f, l, []); };
    }
    function setter(name, nanAsZero) {
      var f = U[name];
      return function () {
        var t = tv(this), args = [], i;
        for (i = 0; i < arguments.length; i++) args[i] = NumberCtor(arguments[i]);
        if (t !== t && !nanAsZero) return NaN;
        var l = new ND(t !== t ? 0 : t + offsetAt(t)), r = apply(f, l, args);
        return apply(setTime, this, [r !== r ? NaN : utcOf(r)]);
      };
    }
    function zoneText(t) {
      var off = offsetAt(t) / 60000, a = abs(off);
      return 'GMT' + (off < 0 ? '-' : '+') + pad(floor(a / 60), 2) + pad(a % 60, 2) + ' (' + AB[index(t)] + ')';
    }
    function yearText(y) { return y < 0 ? '-' + pad(-y, 6) : pad(y, 4); }
    function dateText(l) {
      return DAYS[apply(U.getDay, l, [])] + ' ' + MONTHS[apply(U.getMonth, l, [])] + ' ' +
             pad(apply(U.getDate, l, []), 2) + ' ' + yearText(apply(U.getFullYear, l, []));
    }
    function timeText(l) {
      return pad(apply(U.getHours, l, []), 2) + ':' + pad(apply(U.getMinutes, l, []), 2) + ':' +
             pad(apply(U.getSeconds, l, []), 2);
    }
    function localeDate(l) {
      return pad(apply(U.getMonth, l, []) + 1, 2) + '/' + pad(apply(U.getDate, l, []), 2) + '/' +
             yearText(apply(U.getFullYear, l, []));
    }
    function localeTime(l) {
      var h = apply(U.getHours, l, []);
      return pad(h % 12 || 12, 2) + ':' + pad(apply(U.getMinutes, l, []), 2) + ':' +
             pad(apply(U.getSeconds, l, []), 2) + (h < 12 ? ' AM' : ' PM');
    }
    function formatter(render) {
      return function () { var t = tv(this); return t !== t ? 'Invalid Date' : render(new ND(t + offsetAt(t)), t); };
    }
    var methods = {
      getFullYear: getter('getFullYear'), getMonth: getter('getMonth'), getDate: getter('getDate'),
      getDay: getter('getDay'), getHours: getter('getHours'), getMinutes: getter('getMinutes'),
      getSeconds: getter('getSeconds'), getMilliseconds: getter('getMilliseconds'),
      getYear: function () { var l = local(this); return l === null ? NaN : apply(U.getFullYear, l, []) - 1900; },
      getTimezoneOffset: function () { var t = tv(this); return t !== t ? NaN : -offsetAt(t) / 60000; },
      setFullYear: setter('setFullYear', true), setMonth: setter('setMonth'), setDate: setter('setDate'),
      setHours: setter('setHours'), setMinutes: setter('setMinutes'), setSeconds: setter('setSeconds'),
      setMilliseconds: setter('setMilliseconds'),
      setYear: function (year) {
        var y = NumberCtor(year), i = floor(y);
        if (y !== y) return apply(setTime, this, [NaN]);
        return apply(methods.setFullYear, this, [i >= 0 && i <= 99 ? 1900 + i : y]);
      },
      toString: formatter(function (l, t) { return dateText(l) + ' ' + timeText(l) + ' ' + zoneText(t); }),
      toDateString: formatter(function (l) { return dateText(l); }),
      toTimeString: formatter(function (l, t) { return timeText(l) + ' ' + zoneText(t); }),
      toLocaleString: formatter(function (l) { return localeDate(l) + ', ' + localeTime(l); }),
      toLocaleDateString: formatter(localeDate),
      toLocaleTimeString: formatter(localeTime)
    };
    var names = Object.keys(methods);
    for (var m = 0; m < names.length; m++) {
      METHOD.value = methods[names[m]];
      defineProperty(NP, names[m], METHOD);
    }

    // Strings: ISO date-only forms and strings naming a zone mean the same instant on every host;
    // any other string is a local time of the configured zone (the host's TZ never matters).
    var ISO_DATE = /^[+-]?\d{4,6}(-\d\d(-\d\d)?)?$/,
        ISO_LOCAL = /^[+-]?\d{4,6}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/,
        // a zone name, or a numeric offset after a time; literals are compiled with the program,
        // once per process (new RegExp compiled them in every session)
        ZONE_NAME = /(^|[^A-Za-z])(GMT|UTC|UT|Z|[ECMP][SD]T|WES?T|CES?T|EES?T)(?![A-Za-z])/i,
        ZONE_OFFSET = /\d:\d\d(:\d\d(\.\d+)?)?\s*([AP]M)?\s*[+-]\d/i;
    function parse(text) {
      var s = StringCtor(text).trim();
      if (ISO_DATE.test(s)) return nativeParse(s);
      if (ISO_LOCAL.test(s)) { var w = nativeParse(s + 'Z'); return w !== w ? NaN : utcOf(w); }
      var bare = s.replace(/\([^)]*\)/g, ' ');
      if (ZONE_NAME.test(bare) || ZONE_OFFSET.test(bare)) return nativeParse(s);
      var wall = nativeParse(s + ' GMT');
      return wall !== wall ? NaN : utcOf(wall);
    }
    function primitive(v) {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return v;
      var p = v.valueOf();
      return (p !== null && (typeof p === 'object' || typeof p === 'function')) ? v.toString() : p;
    }
    var Date = function Date(year, monthIndex, day, hours, minutes, seconds, ms) {
      var n = arguments.length, t;
      if (new.target === undefined) return apply(methods.toString, new ND(nowMs()), []);
      if (n === 0) t = nowMs();
      else if (n === 1) {
        var isDate = true;
        try { t = tv(year); } catch (e) { isDate = false; }
        if (!isDate) { var p = primitive(year); t = typeof p === 'string' ? parse(p) : NumberCtor(p); }
      } else {
        var args = [];
        for (var i = 0; i < n && i < 7; i++) args[i] = NumberCtor(arguments[i]);
        var w = apply(nativeUTC, null, args);
        t = w !== w ? NaN : utcOf(w);
      }
      var d = new ND(t);
      if (new.target !== Date) setPrototypeOf(d, new.target.prototype);
      return d;
    };
    defineProperty(Date, 'prototype', {value: NP, writable: false, enumerable: false, configurable: false});
    defineProperty(NP, 'constructor', {value: Date, writable: true, enumerable: false, configurable: true});
    function stat(name, fn) {
      METHOD.value = fn;
      defineProperty(Date, name, METHOD);
    }
    stat('now', function now() { return nowMs(); });
    stat('parse', function parse_(s) { return parse(s); });
    stat('UTC', nativeUTC);
    defineProperty(G, 'Date', {value: Date, writable: true, enumerable: false, configurable: true});
    if (cfg.performance) {
      var origin = nowMs(), perf = {now: function now() { return nowMs() - origin; }, timeOrigin: origin};
      defineProperty(G, 'performance', {value: perf, writable: true, enumerable: true, configurable: true});
    }

    // sfc32 (a small counter-based PRNG, BigCrush-clean), seeded with four 32-bit words.
    var a = cfg.seed[0] | 0, b = cfg.seed[1] | 0, c = cfg.seed[2] | 0, d = cfg.seed[3] | 0;
    function random() {
      var t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      return (t >>> 0) / 4294967296;
    }
    for (var k = 0; k < 12; k++) random();  // mix the seed in
    defineProperty(G.Math, 'random', {value: random, writable: true, enumerable: false, configurable: true});
  };
})(globalThis)
