/**
 * The vm's cost model (firmware/sim/README.md, "Cost units"): the rules by which statements, skipped
 * text, loops, calls and natives are charged. Each test runs under a model with one coefficient set,
 * so the charge is an exact count. (The coefficients themselves are fitted against the real interpreter
 * by firmware/sim/espruino/cost/ratios.ts, which needs valgrind.)
 */
import { expect } from 'chai';
import { CALIBRATION, NRF52_HZ, cpuFigure } from '@budlink/sim/espruino/cpu';
import {
  COST_UNITS_PER_SECOND,
  FITTED_MODEL,
  JS_FEATURES,
  NATIVES,
  X86_PER_UNIT,
  useCostModel,
  type CostModel,
  type JsFeature,
} from '../../../firmware/sim/vm/loop';
import { program, stopAll } from './helpers';
import { BOARDS } from '../../../firmware/boards/index';

/** A model charging only what `set` gives. */
function only(
  set: Partial<Record<JsFeature, number>>,
  natives: Partial<CostModel['natives']> = {},
): CostModel {
  const m = structuredClone(FITTED_MODEL);
  for (const k of JS_FEATURES) m.js[k] = set[k] ?? 0;
  for (const k of NATIVES) m.natives[k] = natives[k] ?? { fixed: 0, perElement: 0 };
  m.names = {};
  m.jobs = { default: 0 };
  m.pretokenised = false;
  return m;
}

/** Units charged for calling `f()` of a program `setup` under `model`. */
function cost(model: CostModel, setup: string): number {
  const restore = useCostModel(model);
  try {
    const e = program(setup, { board: 'puckjs' });
    const before = e.stats().byKind.repl?.cost ?? 0;
    e.repl('f()');
    return (e.stats().byKind.repl?.cost ?? 0) - before;
  } finally {
    restore();
  }
}

describe('sim: the cost model', () => {
  afterEach(stopAll);

  it('a unit is a fixed amount of nRF52 time: X86_PER_UNIT instructions at the central calibration', () => {
    expect(COST_UNITS_PER_SECOND).to.be.closeTo(NRF52_HZ / (CALIBRATION.central * X86_PER_UNIT), 1e-9);
    const restore = useCostModel(only({ stmt: 1 }));
    try {
      const e = program('');
      const dt = e.repl(
        `var t0 = getTime(); ${'0;'.repeat(998)} var t1 = getTime(); t1 - t0`, // 1000 statements between
      ) as number;
      expect(dt * COST_UNITS_PER_SECOND).to.be.closeTo(1000, 1);
    } finally {
      restore();
    }
  });

  it('a braced branch not taken costs its text as skipped tokens; braceless, as parsed tokens', () => {
    const skip = only({ skipTok: 1 });
    const body = (n: number): string => 'y=y+1;'.repeat(n); // 6 tokens each
    const short = cost(skip, `var y=0,x=1;var f=function(){if(x<0){${body(2)}}}`);
    const long = cost(skip, `var y=0,x=1;var f=function(){if(x<0){${body(12)}}}`);
    expect(long - short).to.equal(60);
    // taken: nothing is skipped
    expect(cost(skip, `var y=0,x=1;var f=function(){if(x>0){${body(12)}}}`)).to.equal(0);
    // the else branch is skipped when the if branch runs
    expect(cost(skip, `var y=0,x=1;var f=function(){if(x>0){y=1}else{${body(12)}}}`)).to.equal(74); // { 72 }
    const parse = only({ parseTok: 1 });
    expect(cost(parse, 'var y=0,x=1;var f=function(){if(x<0)y=y+y+y;}')).to.equal(8); // y = y + y + y ;
  });

  it('a loop body is charged on every iteration, with the loop test and update', () => {
    const stmt = only({ stmt: 1, iteration: 1 });
    const n10 = cost(stmt, 'var x=0;var f=function(){for(var i=0;i<10;i++){x+=i;x+=1}}');
    const n20 = cost(stmt, 'var x=0;var f=function(){for(var i=0;i<20;i++){x+=i;x+=1}}');
    expect(n20 - n10).to.equal(30); // 10 more iterations × (2 statements + the iteration)
    const tok = only({ tok: 1 });
    const t10 = cost(tok, 'var x=0;var f=function(){for(var i=0;i<10;i++){x+=i}}');
    const t20 = cost(tok, 'var x=0;var f=function(){for(var i=0;i<20;i++){x+=i}}');
    // per iteration: i < N (3) + i ++ (2) + { } (2) + x += i (3)
    expect(t20 - t10).to.equal(100);
  });

  it('the rest of a function after return, and of a loop body after continue, are skipped text', () => {
    const skip = only({ skipTok: 1 });
    expect(cost(skip, 'var y=0;var f=function(){return 1;y=y+1;y=y+1;}')).to.equal(12);
    expect(cost(skip, 'var y=0;var f=function(){for(var i=0;i<3;i++){continue;y=y+1;}}')).to.equal(18);
  });

  it('an operand of && that does not run is parsed; one that runs is executed', () => {
    const m = only({ parseTok: 1, node: 10 });
    const notRun = cost(m, 'var x=0,y=0;var f=function(){x<0&&(y=x+x)}');
    const run = cost(m, 'var x=0,y=0;var f=function(){x>=0&&(y=x+x)}');
    expect(run - notRun).to.equal(5 * 10 - 5); // 5 nodes run instead of 5 tokens parsed: y = x + x
  });

  it('calls, parameters and the scope variables compared by a lookup', () => {
    expect(cost(only({ call: 1 }), 'var g=function(a,b){};var f=function(){g(1,2);g(1,2)}')).to.equal(3);
    expect(cost(only({ param: 1 }), 'var g=function(a,b){};var f=function(){g(1,2);g(1,2)}')).to.equal(4);
    const scan = only({ scan: 1 });
    const first = cost(scan, 'var v0=0,v1=0,v2=0,v3=0,v4=0,x;var f=function(){x=v0}');
    const last = cost(scan, 'var v0=0,v1=0,v2=0,v3=0,v4=0,x;var f=function(){x=v4}');
    expect(last - first).to.equal(4);
  });

  it('natives charge a fixed cost and a cost per element', () => {
    const m = only(
      {},
      { 'E.sum': { fixed: 3, perElement: 0.5 }, 'TypedArray.fill': { fixed: 1, perElement: 2 } },
    );
    expect(cost(m, 'var b=new Uint8Array(100);var f=function(){E.sum(b)}')).to.equal(53);
    expect(cost(m, 'var b=new Uint8Array(10);var f=function(){b.fill(1)}')).to.equal(21);
  });

  it('the fitted model prices a simple loop iteration at ~14,000 x86 instructions (measured: ~14,100)', () => {
    const e = program('');
    const c0 = e.stats().totalCost;
    e.repl('var x = 0; for (var i = 0; i < 1000; i++) x += i;');
    const perIteration = ((e.stats().totalCost - c0) / 1000) * X86_PER_UNIT;
    expect(perIteration).to.be.within(11_000, 17_000);
  });
});

describe('real-interpreter CPU figures', () => {
  it('refuses a board whose microphone this build cannot drive, instead of waiting for samples for ever', async () => {
    const err = await cpuFigure(BOARDS.thingy52!, 'listen', '').then(
      () => null,
      (e: unknown) => e,
    );
    expect(String(err)).to.match(/thingy52: no CPU figure, its pdm microphone is not driven/);
  });
});
