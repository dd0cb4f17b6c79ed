/**
 * JsVar accounting of what functions keep alive beyond their scope: the `this` an arrow function
 * captured, what `fn.bind` copies into a bound function, callbacks held by timers / NRF / Waveform, and
 * OUT OF MEMORY when allocation grows through such a path. Small hand-written Espruino programs on the
 * Puck.js profile (2,630 JsVars of 13 bytes: a Uint8Array(1300) is ~104 JsVars with its property name).
 */
import { expect } from 'chai';
import { program, stopAll } from './helpers';

const PUCK = { board: 'puckjs' } as const;

/** JsVars in use after booting `src` on the Puck.js profile. */
function used(src: string): number {
  return program(src, PUCK).stats().jsVarsUsed;
}

describe('sim: JsVars reachable through function links', () => {
  afterEach(stopAll);

  describe("an arrow function's captured this", () => {
    it('counts an object reachable only through the this of an arrow held by a timer', () => {
      const app = (body: string): string => `(function(){
        class App {
          constructor() { this.buf = new Uint8Array(1300); }
          start() { setInterval(() => { ${body} }, 1000); }
        }
        new App().start();
      })();`;
      const keeps = used(app('this.buf[0]++;'));
      const free = used(app('var x = 1;'));
      expect(keeps - free).to.be.within(100, 115);
    });

    it('counts the this of arrows held by NRF.on and by a Waveform buffer handler (the firmware App pattern)', () => {
      const withThis = `(function(){
        function App() { this.ring = new Uint8Array(1300); this.n = 0; }
        App.prototype.start = function () {
          NRF.on('connect', () => { this.n++; });
          var w = new Waveform(64, { doubleBuffer: true });
          w.on('buffer', (b) => { this.ring.set(b); });
          w.startInput(D3, 2000, { repeat: true });
        };
        new App().start();
      })();`;
      const noThis = withThis.replace('this.n++;', 'var a = 0;').replace('this.ring.set(b);', 'var b2 = b;');
      expect(used(withThis) - used(noThis)).to.be.within(100, 120);
    });

    it('counts a this captured by a nested arrow (expression-bodied, inside another arrow)', () => {
      const src = (use: string): string => `(function(){
        var Box = function () { this.data = new Uint8Array(1300); };
        Box.prototype.arm = function () { setTimeout(() => setInterval(() => ${use}, 500), 10); };
        new Box().arm();
      })();`;
      const e = program(src('this.data[0]++'), PUCK);
      const f = program(src('0'), PUCK);
      e.advance(100);
      f.advance(100);
      // only the interval remains: its arrow holds the Box through its this
      expect(e.stats().jsVarsUsed - f.stats().jsVarsUsed).to.be.within(100, 115);
      expect(e.repl('1+1')).to.equal(2);
    });

    it('a this that is the global object costs only the name (globals are counted once)', () => {
      const a = used('var big = new Uint8Array(1300); setInterval(() => { this.x = 1; }, 1000);');
      const b = used('var big = new Uint8Array(1300); setInterval(() => { var x = 1; }, 1000);');
      expect(a - b).to.be.within(0, 3);
    });
  });

  describe('scope chains', () => {
    it("a closure created in a nested function keeps the outer function's scope alive", () => {
      const src = (size: number): string => `
        function outer() {
          var big = new Uint8Array(${size});
          function inner() { var n = 0; return function () { return n++; }; }
          return inner();
        }
        setInterval(outer(), 1000);`;
      // only the closure from inner() survives; through inner's scope chain it holds outer's scope
      expect(used(src(1300)) - used(src(1))).to.be.within(100, 110);
    });

    it('each closure created two scopes deep copies the chain (an array + one name per scope)', () => {
      const src = (k: number): string => `(function(){
        var keep = [];
        function method() { var local = 1; for (var i = 0; i < ${k}; i++) keep.push(function () { return local; }); }
        method();
      })();`;
      // per closure: element name, function, scope link, code (in flash) = 4, + the chain copy
      // [iife scope, method scope] = array + 2 index names
      expect(used(src(20)) - used(src(10))).to.equal(10 * 7);
    });
  });

  describe('methods and scope variables', () => {
    it('an object-literal method or accessor keeps the scope it was created in alive', () => {
      const lit = (n: number, member: string): string =>
        `function mk() { var big = new Uint8Array(${n}); return { ${member} }; } var o = mk();`;
      for (const member of ['peek() { return big[0]; }', 'get first() { return big[0]; }'])
        expect(used(lit(1300, member)) - used(lit(1, member)), member).to.be.within(100, 110);
    });

    it('a class defined inside a function keeps that scope alive through its methods', () => {
      const cls = (n: number): string => `function mk() {
          var big = new Uint8Array(${n});
          class Peek { at(i) { return big[i]; } static size() { return big.length; } }
          return new Peek();
        }
        var p = mk();`;
      expect(used(cls(1300)) - used(cls(1))).to.be.within(100, 110);
    });

    it('a scope variable named like the instrumentation helpers (o, e) is counted with its own value', () => {
      const src = (n: number): string =>
        `(function(){ var o = new Uint8Array(${n}); var e = 0; setInterval(function () { o[0]++; e++; }, 1000); })();`;
      expect(used(src(1300)) - used(src(1))).to.be.within(100, 102);
    });
  });

  describe('bound functions', () => {
    it('counts the thisArg a bound function holds', () => {
      const a = used(
        'setInterval(function () { this.buf[0]++; }.bind({ buf: new Uint8Array(1300) }), 1000);',
      );
      const b = used('setInterval(function () { this.buf[0]++; }.bind({ buf: 0 }), 1000);');
      expect(a - b).to.be.within(100, 110);
    });

    it('counts bound arguments, and the scope of the target function', () => {
      const args = used('setInterval(function (arr) { arr[0]++; }.bind(null, new Uint8Array(1300)), 1000);');
      const none = used('setInterval(function (arr) { arr[0]++; }.bind(null, 1), 1000);');
      expect(args - none).to.be.within(100, 110);
      const scoped =
        used(`function mk() { var big = new Uint8Array(1300); return function () { return big; }; }
        setInterval(mk().bind(null), 1000);`);
      const plain = used(`function mk() { var big = 0; return function () { return big; }; }
        setInterval(mk().bind(null), 1000);`);
      expect(scoped - plain).to.be.within(100, 110);
    });

    it('a bound function still works and its own this wins over a later call', () => {
      const e = program(
        'var o = { v: 7 }; var f = function (a, b) { return this.v + a + b; }.bind(o, 1);',
        PUCK,
      );
      expect(e.repl('f.call({ v: 100 }, 2)')).to.equal(10);
    });
  });

  describe('accessors and prototype chains', () => {
    it('counts the scope a getter defined with Object.defineProperty keeps alive', () => {
      const src = (size: number): string => `
        function mk() { var big = new Uint8Array(${size}); return function () { return big.length; }; }
        var o = {}; Object.defineProperty(o, 'len', { get: mk() });`;
      expect(used(src(1300)) - used(src(1))).to.be.within(100, 110);
    });

    it('counts what a class instance reaches only through its prototype chain', () => {
      const src = (size: number): string => `(function(){
        global.inst = (function () {
          class Base { peek() { return 0; } }
          class Tap extends Base { read() { return 1; } }
          Base.prototype.table = new Uint8Array(${size});
          return new Tap();
        })();
      })();`;
      expect(used(src(1300)) - used(src(1))).to.be.within(100, 110);
    });
  });

  describe('callbacks registered on emulated globals', () => {
    const mk = (size: number, register: string): string => `(function(){
      function mk() { var big = new Uint8Array(${size}); return function () { return big[0]; }; }
      ${register}
    })();`;
    for (const [name, register] of [
      ['setInterval', 'setInterval(mk(), 1000);'],
      ['NRF.on', "NRF.on('disconnect', mk());"],
      // a running Waveform is kept by the interpreter (an idle one with no reference is garbage)
      [
        'Waveform.on',
        "var w = new Waveform(64, { doubleBuffer: true }); w.on('buffer', mk()); w.startInput(D3, 1000, { repeat: true }); w = 0;",
      ],
      ['setWatch', 'setWatch(mk(), BTN, { repeat: true });'],
    ] as const)
      it(`${name}: the closure of the callback stays counted`, () => {
        expect(used(mk(1300, register)) - used(mk(1, register))).to.be.within(100, 110);
      });
  });

  describe('OUT OF MEMORY through such paths', () => {
    it('allocation through an arrow this past the heap raises Out of Memory and interrupts the job', () => {
      const e = program(
        `(function(){
          class Grower {
            constructor() { this.parts = []; }
            start() { setInterval(() => { this.parts.push(new Uint8Array(500)); global.count = this.parts.length; }, 100); }
          }
          new Grower().start();
        })();`,
        PUCK,
      );
      e.advance(10000);
      expect(e.logs).to.include('ERROR: Out of Memory!');
      expect(e.stats().outOfMemory).to.be.at.least(1);
      // ~2,600 free JsVars / ~41 per 500-byte array (+ its element name)
      expect(e.repl('global.count')).to.be.within(50, 65);
      expect(e.stats().jsVarsUsed).to.be.at.most(2630 + 50);
    });

    it('allocation into a bound argument past the heap raises Out of Memory', () => {
      const e = program(
        `var store = [];
         setInterval(function (s) { s.push(new Uint8Array(500)); }.bind(null, store), 100); store = 0;`,
        PUCK,
      );
      e.advance(10000);
      expect(e.logs).to.include('ERROR: Out of Memory!');
      expect(e.repl('E.getErrorFlags().join()')).to.equal('MEMORY');
    });
  });
});
