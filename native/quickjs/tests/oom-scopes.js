var out = [];
function outer(a, b) {
  var x = 1;
  label1: for (var i = 0; i < 3; i++) {
    let y = i;
    const f = () => x + y + a;
    try {
      with ({z: i}) {
        out.push(eval("z + y"));
        label2: while (true) { if (y) break label1; break label2; }
      }
    } catch (e) {
      out.push(String(e));
    } finally {
      out.push(f());
    }
  }
  class C extends Object {
    #p = 1; static s = 2;
    constructor(v) { super(); this.v = v; }
    get g() { return this.#p + this.v; }
    static m() { return C.s; }
    *gen() { yield* [1, 2]; }
    async am() { await null; return 3; }
  }
  function inner() {
    var q = arguments.length;
    return function deep(...r) { { let k = q; { let m = k; return () => m + r.length + b; } } };
  }
  return [new C(a).g, C.m(), [...new C(1).gen()], inner(1, 2)(3)(), out.length];
}
outer(1, 2);
