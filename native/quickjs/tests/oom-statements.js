var r = 0;
outer: for (let a of [1, 2, 3]) {
  inner: for (const k in {p: 1, q: 2}) {
    switch (a) {
      case 1: { let t = a; r += t; continue outer; }
      case 2: try { throw new Error(k); } catch ({message}) { r += message.length; break inner; } finally { r++; }
      default: with ({a: 5}) { r += eval("a + (() => a)()"); }
    }
  }
}
function* g(x) { let [p, ...q] = x; for (var i of q) { yield (function () { return p + i; })(); } }
var o = {...{a: 1}, b: [...g([1, 2, 3])], get c() { return `${r}-${/a(b)c/.exec("abc")[1]}`; }};
label3: { if (r) break label3; r = -1; }
if (true) function hoisted() { return 1; }
do { let z = r; var w = () => z; } while (false);
for (let i = 0, j = 10; i < j; i += 3, j--) { let c = i; (function () { r += c; })(); }
async function af() { for await (const v of [1, 2]) r += v; }
af();
(function () { "use strict"; class A { static { this.q = 1; } #x = 2; static #y() { return 3; } m() { return A.#y() + this.#x; } } r += new A().m() + A.q; })();
new Function("a", "b", "with (a) { return eval('b') }")({}, 1);
eval("var ev = 1; { let e2 = 2; function fe() { return e2 + ev; } }");
r;
