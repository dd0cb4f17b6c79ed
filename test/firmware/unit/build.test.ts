import { expect } from 'chai';
import { inlineConstants } from '../../../firmware/scripts/build';

describe('firmware build: constant-table folding', () => {
  it('folds static reads of a literal table into literals and drops the table', () => {
    const src = 'var T = { A: 1, B: -2, S: "x" };\nfunction f(v) { return v === T.A ? T.B : T.S; }\nf(1);\n';
    const r = inlineConstants(src);
    expect(r.folded).to.deep.equal(['T']);
    expect(r.code).to.not.include('var T');
    // Same behaviour after folding.
    const run = (code: string): unknown => new Function(code.replace('f(1);', 'return [f(1), f(0)];'))();
    expect(run(r.code)).to.deep.equal(run(src));
    expect(run(r.code)).to.deep.equal([-2, 'x']);
  });

  it('keeps a table used as a value, written, read by an unknown or computed key, or shadowed', () => {
    const cases = [
      'var T = { A: 1 }; function g(o) { return o; } g(T);',
      'var T = { A: 1 }; T.A = 2;',
      'var T = { A: 1 }; var x = T.B;',
      'var T = { A: 1 }; var k = "A"; var x = T[k];',
      'var T = { A: 1 }; function h(T) { return T.A; }',
      'var T = { A: 1 }; function h() { var T = { A: 2 }; return T.A; }',
      'var T = { A: 1 }; for (var k in T) {}',
    ];
    for (const c of cases) {
      const r = inlineConstants(c);
      expect(r.folded, c).to.deep.equal([]);
      expect(r.code, c).to.equal(c);
    }
  });

  it('leaves tables whose values are not literals', () => {
    const r = inlineConstants('var T = { A: f() }; function f() { return 1; } var x = T.A;');
    expect(r.folded).to.deep.equal([]);
  });
});
