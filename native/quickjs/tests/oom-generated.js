function mk(n) {
  var s = "";
  for (var i = 0; i < n; i++) s += "{ let v" + i + " = " + i + "; try { with ({w" + i + ": v" + i + "}) { L" + i + ": for (;;) { if (v" + i + " >= 0) break L" + i + "; } } } catch (e" + i + ") { } ";
  s += "x = (() => v0 + v" + (n - 1) + ")();";
  for (var i = 0; i < n; i++) s += " }";
  return s;
}
var x;
eval(mk(40));
(0, eval)("function deep() {" + mk(20) + " return x; } deep();");
class B { constructor() { this.f = () => { return eval("this") }; } }
class D extends B { constructor() { super(); { let q = 1; { let r = () => q + super.constructor.name.length; this.r = r(); } } } }
new D().r + x;
