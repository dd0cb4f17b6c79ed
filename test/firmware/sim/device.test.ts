/** Memory accounting, OUT OF MEMORY, cost counting, timers, watches, Storage, watchdog, power cycles, real time. */
import { expect } from 'chai';
import { COST_UNITS_PER_SECOND } from '@budlink/sim';
import { program, stopAll } from './helpers';
import { sleep } from '@budlink/test-support/wait';

describe('sim: device behaviour', () => {
  afterEach(stopAll);

  describe('JsVars', () => {
    it('process.memory() reports the walked heap; allocations show up in usage', () => {
      const e = program('var keep = [];', { board: 'puckjs' });
      const m0 = e.repl('process.memory()') as {
        usage: number;
        free: number;
        total: number;
        blocksize: number;
      };
      expect(m0.total).to.equal(2630);
      expect(m0.blocksize).to.equal(13);
      expect(m0.usage + m0.free).to.equal(m0.total);
      e.repl('keep.push(new Uint8Array(1300))');
      const m1 = e.repl('process.memory()') as { usage: number };
      expect(m1.usage - m0.usage).to.be.within(100, 110); // 1300 / 13 + view + buffer + element name
      expect(e.stats().jsVarsUsed).to.equal(m1.usage);
    });

    it('state held in the closure of an IIFE bundle is counted', () => {
      const a = program(
        '(function(){ var buf = new Uint8Array(2600); setInterval(function(){ buf[0]++; }, 1000); })();',
        {
          board: 'puckjs',
        },
      );
      const b = program('(function(){ setInterval(function(){}, 1000); })();', { board: 'puckjs' });
      expect(a.stats().jsVarsUsed - b.stats().jsVarsUsed).to.be.within(200, 215);
    });

    it('state a closure keeps alive in any function scope is counted (Espruino keeps the whole scope)', () => {
      const mk = (keep: string): string =>
        `function mk() { var big = new Uint8Array(2600); var n = 0; return function () { ${keep} }; }
         setInterval(mk(), 1000);`;
      const a = program(mk('return big[n++];'), { board: 'puckjs' });
      const b = program('function mk() { return function () { return 0; }; } setInterval(mk(), 1000);', {
        board: 'puckjs',
      });
      expect(a.stats().jsVarsUsed - b.stats().jsVarsUsed).to.be.within(200, 220);
    });

    it("allocating past the heap fails with Espruino's 'Out of Memory!' and interrupts the code", () => {
      const e = program(
        `var keep = [];
         global.grow = function () { try { for (var i = 0; i < 100; i++) keep.push(new Uint8Array(1000)); } catch (e) { global.caught = 1; } global.after = 1; };`,
        { board: 'puckjs' },
      );
      expect(() => e.repl('grow()')).to.throw(/Out of Memory|interrupted/);
      expect(e.logs).to.include('ERROR: Out of Memory!');
      expect(e.repl('typeof global.after')).to.equal('undefined'); // execution was interrupted
      expect(e.stats().outOfMemory).to.equal(1);
      expect(e.repl('E.getErrorFlags().join()')).to.equal('MEMORY');
      expect(e.repl('keep.length')).to.be.within(25, 35); // 2630 vars / ~80 per 1000-byte array
      // The device keeps running: timers and the REPL still work.
      expect(e.repl('1 + 1')).to.equal(2);
    });

    it('code uploaded to RAM costs JsVars for function bodies; from Storage it does not', () => {
      const src = `(function(){ var f = function () { ${'var a = 1; '.repeat(100)} }; setInterval(f, 1000); })();`;
      const ram = program(src, { board: 'puckjs', upload: 'ram' }).stats().jsVarsUsed;
      const flash = program(src, { board: 'puckjs', upload: 'storage' }).stats().jsVarsUsed;
      expect(ram - flash).to.be.within(80, 100); // ~1100 chars / 12 per JsVar
    });
  });

  describe('cost', () => {
    it('charges ~14 units (~14,000 x86 instructions) per simple loop iteration; device time = cost / COST_UNITS_PER_SECOND', () => {
      const e = program('');
      e.repl(
        'global.t0 = getTime(); var x = 0; for (var i = 0; i < 10000; i++) x += i; global.t1 = getTime();',
      );
      const dt = e.repl('global.t1 - global.t0') as number;
      const repl = e.stats().byKind.repl!;
      expect(repl.max / 10000).to.be.within(11, 17); // the real interpreter: ~14,100 x86 per iteration
      expect(dt).to.be.closeTo(repl.max / COST_UNITS_PER_SECOND, 0.01);
    });

    it('a job that never returns is interrupted (device hang) and the rest keeps running', () => {
      const e = program(
        'setTimeout(function () { while (true) {} }, 10); setInterval(function () { global.n = (global.n || 0) + 1; }, 1000);',
      );
      e.advance(30000);
      expect(e.logs.some((l) => /device hung/.test(l))).to.equal(true);
      expect(e.repl('global.n')).to.be.greaterThan(5);
    });
  });

  describe('timers, watches, errors', () => {
    it('setTimeout/setInterval run on the virtual clock; clearInterval stops one', () => {
      const e =
        program(`var ticks = []; var id = setInterval(function () { ticks.push(Math.round(getTime() * 1000)); }, 100);
                          setTimeout(function () { clearInterval(id); }, 350);`);
      e.advance(1000);
      expect(e.repl('ticks.length')).to.equal(3);
      const ticks = e.repl('ticks') as number[];
      expect(ticks[1]! - ticks[0]!).to.be.within(99, 101);
    });

    it('idle loop order: due timers first, then the Waveform poll, then queued events; a late interval catches up once per pass', () => {
      const e = program(`var order = [];
        var w = new Waveform(100, { doubleBuffer: true });
        w.on('buffer', function () { if (order.length < 6) order.push('buffer'); });
        w.startInput(D3, 1000, { repeat: true });
        E.on('block', function () { var x = 0; for (var i = 0; i < 250; i++) x += i; });
        setTimeout(function () { E.emit('block'); }, 50);
        setTimeout(function () { order.push('timer'); E.emit('ev'); }, 100);
        E.on('ev', function () { order.push('event'); });
        var ticks = 0; var iv = setInterval(function () { ticks++; }, 10);
        setTimeout(function () { var x = 0; for (var i = 0; i < 1350; i++) x += i; }, 300);`);
      e.advance(150);
      // an event blocks the loop over t=100, when the swap and the timer both fall due: the next pass runs
      // the timer first (its emit queues 'ev'), then the poll queues 'buffer' behind 'ev'
      expect(e.repl('order.slice(0, 3).join()')).to.equal('timer,event,buffer');
      e.advance(1000);
      // ~100 ticks in 1.15 s even though a 0.45 s job blocked the loop: the interval caught up
      expect(e.repl('ticks')).to.be.within(110, 116);
    });

    it('an error in a handler is printed and other timers keep running; a top-level error stops the program there', () => {
      const e = program(`setInterval(function () { global.ok = (global.ok || 0) + 1; }, 100);
                         setTimeout(function () { null.x; }, 50);
                         throw new Error('stop here');
                         global.notReached = 1;`);
      e.advance(500);
      expect(e.repl('global.ok')).to.be.at.least(4);
      expect(e.repl('typeof global.notReached')).to.equal('undefined');
      expect(e.logs.some((l) => l.startsWith('Uncaught Error: stop here'))).to.equal(true);
      expect(e.logs.some((l) => l.startsWith('Uncaught TypeError'))).to.equal(true);
      expect(e.stats().handlerErrors).to.equal(2);
    });

    it('setWatch sees button presses with state and time; E.on("init") runs after the boot code', () => {
      const e = program(`var ev = []; var order = [];
        setWatch(function (e) { ev.push(e.state ? 'down' : 'up'); }, BTN1, { repeat: true, edge: 'both', debounce: 25 });
        E.on('init', function () { order.push('init'); });
        order.push('boot');`);
      e.advance(100);
      e.pressButton(200);
      e.advance(500);
      // Espruino negates the nRF52840 DK's (active-low) button in software: pressed reads 1
      expect(e.repl('ev.join()')).to.equal('down,up');
      // debounce: a 5 ms bounce (press 5 ms, release) is not reported at all
      e.pressButton(5);
      e.advance(100);
      expect(e.repl('ev.join()')).to.equal('down,up');
      expect(e.repl('order.join()')).to.equal('boot,init');
    });
    it('pressButton(ms, atSample) presses just before the ADC takes that sample, and releases ms of samples later', () => {
      // a 1 kHz input Waveform on the microphone: sample n is taken at ~n ms after startInput
      const e = program(`var ev = [];
        setWatch(function (e) { ev.push((e.state ? 'down@' : 'up@') + Math.round((e.time - t0) * 1000)); },
          BTN1, { repeat: true, edge: 'both' });
        var w = new Waveform(64, { doubleBuffer: true, bits: 8 });
        var t0 = getTime();
        w.startInput(D2, 1000, { repeat: true });`);
      e.pressButton(100, 500);
      e.advance(400);
      expect(e.repl('ev.join()')).to.equal('');
      e.advance(400);
      const ev = String(e.repl('ev.join()')).split(',');
      expect(ev.length).to.equal(2);
      const [down, up] = ev.map((x) => Number(x.split('@')[1]));
      expect(down).to.be.within(499, 501);
      expect(up! - down!).to.be.within(99, 101);
    });
  });

  describe('Storage, watchdog, power', () => {
    it('Storage persists across power cycles; RAM does not', () => {
      const src = `var s = require('Storage'); var n = (s.readJSON('count.json', true) || 0) + 1; s.writeJSON('count.json', n); global.n = n;`;
      const e = program(src);
      expect(e.repl('global.n')).to.equal(1);
      e.powerCycle();
      e.powerCycle();
      expect(e.repl('global.n')).to.equal(3);
      expect(e.repl("require('Storage').read('count.json')")).to.equal('3');
      expect(e.repl("require('Storage').readJSON('missing', true)")).to.equal(undefined);
      expect(() => e.repl("require('Storage').write('x'.repeat(29), 'a')")).to.throw(/too long/);
      expect(() =>
        e.repl("require('Storage').write('bad.json', '{'); require('Storage').readJSON('bad.json')"),
      ).to.throw(/JSON/);
      expect(e.stats().reboots).to.equal(2);
    });

    it('Storage holds 40 KB on every board (10 pages of 4 KB), as the real interpreter reports', () => {
      for (const board of ['puckjs', 'mdbt42q', 'thingy52', 'microbit2', 'nrf52840dk']) {
        const e = program('', { board });
        expect(e.repl('var s = require("Storage"); s.eraseAll(); s.getFree()'), board).to.equal(40960);
        // as on the real interpreter: a file takes a 32-byte header + its data in 4-byte words
        expect(() => e.repl('s.write("big", "x", 0, 40929)'), board).to.throw(
          'Unable to find or create file',
        );
        expect(e.repl('s.write("big", "x", 0, 40928); s.getFree()'), board).to.equal(0);
        expect(e.repl('s.write("big", "hello"); s.getFree()'), board).to.equal(40960 - 40);
      }
    });

    it('E.getBattery exists only on Puck.js (the only board whose firmware defines it)', () => {
      expect(program('', { board: 'puckjs' }).repl('E.getBattery()')).to.equal(100);
      for (const board of ['mdbt42q', 'thingy52', 'microbit2', 'nrf52840dk'])
        expect(program('', { board }).repl('typeof E.getBattery'), board).to.equal('undefined');
    });

    it('a watchdog that is not kicked resets the program (Storage kept); kicking keeps it alive', () => {
      const e =
        program(`var s = require('Storage'); s.writeJSON('boots', (s.readJSON('boots', true) || 0) + 1);
        E.enableWatchdog(2, false);
        var kick = setInterval(function () { E.kickWatchdog(); }, 500);
        global.stopKicking = function () { clearInterval(kick); };`);
      e.advance(5000);
      expect(e.stats().watchdogResets).to.equal(0);
      e.repl('stopKicking()');
      e.advance(2500);
      expect(e.stats().watchdogResets).to.equal(1);
      expect(e.repl("require('Storage').readJSON('boots')")).to.equal(2);
      expect(e.logs.some((l) => /watchdog reset/.test(l))).to.equal(true);
    });

    it('a power cycle disconnects the central with reason power-cycle', () => {
      const e = program('NRF.setServices({}, {uart: true});');
      const reasons: string[] = [];
      e.connect({ onNotify: () => undefined, onDisconnect: (r) => reasons.push(r) }, { mtu: 23 });
      e.powerCycle();
      expect(reasons).to.deep.equal(['power-cycle']);
      expect(e.connected).to.equal(false);
    });

    it('real-time mode runs timers on the host clock × speed', async () => {
      const e = program('var n = 0; setInterval(function () { n++; }, 100);', { clock: 'real', speed: 10 });
      const t0 = performance.now();
      await sleep(300);
      const n = e.repl('n') as number;
      const elapsed = performance.now() - t0;
      e.stop();
      // ~elapsed × 10 ms of device time, 100 ms per tick (the pump runs every 4 ms)
      const expected = (elapsed * 10) / 100;
      expect(n).to.be.within(Math.floor(expected) - 3, Math.ceil(expected) + 1);
      expect(n).to.be.at.least(20);
      expect(() => e.advance(1)).to.throw();
    });
  });
});
