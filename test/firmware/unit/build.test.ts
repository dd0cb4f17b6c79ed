import { expect } from 'chai';
import { BOARDS } from '../../../firmware/boards/index';
import type { BoardProfile } from '../../../firmware/boards/index';
import { inlineConstants, inlineScalars } from '../../../firmware/scripts/build';
import { estimateMemory, nameVars } from '../../../firmware/scripts/memory';

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

describe('firmware build: numeric constant folding', () => {
  it('folds a top-level numeric constant into its reads and drops its declaration', () => {
    const src = 'var HELD = 1, X = 0;\nvar N = -4;\nfunction f(o) { return (o.flag & HELD) * N + o.HELD; }\n';
    // (a multi-name declaration is left alone; N and the property o.HELD are not the same name)
    const r = inlineScalars(src + 'var M = 3; function g(o) { return o.M + M; }\n');
    expect(r.folded).to.deep.equal(['N', 'M']);
    expect(r.code).to.not.match(/var N|var M/);
    const run = (code: string): unknown =>
      new Function(code + 'return [f({ flag: 1, HELD: 10 }), g({ M: 5 })];')();
    expect(run(r.code)).to.deep.equal([6, 8]);
  });

  it('keeps constants that are assigned, shadowed, redeclared or used as shorthand properties', () => {
    const cases = [
      'var A = 1; A = 2;',
      'var A = 1; A++;',
      'var A = 1; function h(A) { return A; }',
      'var A = 1; function h() { var A = 2; return A; }',
      'var A = 1; var o = { A };',
      'var A = 1; try {} catch (A) {}',
    ];
    for (const c of cases) {
      const r = inlineScalars(c);
      expect(r.folded, c).to.deep.equal([]);
      expect(r.code, c).to.equal(c);
    }
  });
});

describe('firmware build: JsVar estimate', () => {
  it('charges long names, closure scopes (once per creating function) and module-level tables', () => {
    expect(nameVars(4, 13)).to.equal(1);
    expect(nameVars(5, 13)).to.equal(2);
    expect(nameVars(16, 13)).to.equal(2);
    expect(nameVars(17, 13)).to.equal(3);
    const board = BOARDS.puckjs as BoardProfile;
    const plain = estimateMemory(board, '(function(){function f(a){return a}f(1)})();');
    const closures = estimateMemory(
      board,
      '(function(){function f(a){var b=1;setTimeout(()=>a+b,1);setTimeout(()=>a,2)}f(1)})();',
    );
    // The module scope (the IIFE's: f) is kept by f itself in both.
    expect(plain.closureScopes).to.equal(1);
    expect(plain.scopeVars).to.equal(2);
    // f keeps its scope (object + a + b) alive for its two closures: counted once.
    expect(closures.closureScopes).to.equal(2);
    expect(closures.scopeVars - plain.scopeVars).to.equal(3);
    const table = estimateMemory(board, '(function(){var T={HELLO:1,WELCOME:2};T.HELLO})();');
    expect(table.tableVars).to.equal(1 + (2 + 1) + (2 + 1)); // both names > 4 characters
  });
});
