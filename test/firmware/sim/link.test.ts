/** NRF services behind the link model: MTU, connection interval, queue depth, silent drops, writes. */
import { expect } from 'chai';
import { DOWN, SVC, UP, program, recorder, serviceProgram, stopAll } from './helpers';

describe('sim: NRF and the link model', () => {
  afterEach(stopAll);

  it('exposes the GATT database and advertising the program declared', () => {
    const e = program(serviceProgram("NRF.setAdvertising({}, { name: 'Bud 1' });"));
    expect(e.name).to.equal('Bud 1');
    expect(e.advertisedServices()).to.deep.equal([SVC]);
    const svcs = e.services();
    const ours = svcs.find((s) => s.uuid === SVC)!;
    expect(ours.characteristics.find((c) => c.uuid === UP)!.flags).to.deep.equal(['read', 'notify']);
    expect(ours.characteristics.find((c) => c.uuid === DOWN)!.flags).to.deep.equal([
      'write',
      'write-without-response',
    ]);
    expect(svcs.map((s) => s.uuid)).to.include('6e400001-b5a3-f393-e0a9-e50e24dcca9e'); // Nordic UART kept
  });

  it('central writes reach onWrite({data: ArrayBuffer}) at the next connection event; connect/disconnect events fire', () => {
    const e = program(
      serviceProgram(`
var log = [];
NRF.on('connect', function (addr) { log.push('connect ' + typeof addr); });
NRF.on('disconnect', function (reason) { log.push('disconnect ' + reason); });
global.onDown = function (evt) { log.push((evt.data instanceof ArrayBuffer) + ' ' + new Uint8Array(evt.data).join('.')); };
`),
    );
    const c = recorder();
    e.connect(c, { mtu: 247 });
    e.write(DOWN, new Uint8Array([1, 2, 3]));
    expect(e.repl('log.length')).to.equal(0); // not delivered before time moves
    e.advance(10);
    e.disconnect();
    e.advance(1);
    expect(e.repl('log')).to.deep.equal(['connect string', 'true 1.2.3', 'disconnect 19']);
    expect(() => e.connect(c, { mtu: 23 })).to.not.throw();
    expect(() => e.connect(c, { mtu: 23 })).to.throw(/already connected/);
  });

  it('central writes arrive packetsPerInterval per connection event, in order, none lost', () => {
    const e = program(
      serviceProgram(`
var got = [];
global.onDown = function (evt) { var t = getTime(); got.push(new Uint8Array(evt.data)[0] + '@' + Math.round(t * 1000)); };
`),
      { board: 'puckjs', link: { intervalMs: 7.5, packetsPerInterval: 1 } },
    );
    e.connect(recorder(), { mtu: 53 });
    const t0 = Math.round(e.repl('getTime() * 1000') as number);
    for (let i = 0; i < 5; i++) e.write(DOWN, new Uint8Array([i]));
    e.advance(7.5 * 5 + 1);
    const got = (e.repl('got') as string[]).map((g) => g.split('@').map(Number));
    expect(got.map((g) => g[0])).to.deep.equal([0, 1, 2, 3, 4]);
    // one per connection event: 7.5 ms apart (a burst from the central does not land at once)
    for (let i = 1; i < got.length; i++) expect(got[i]![1]! - got[i - 1]![1]!).to.be.within(7, 8);
    // the first at the first connection event (≤ 7.5 ms), plus ~1 ms for the onWrite dispatch to reach getTime()
    expect(got[0]![1]! - t0).to.be.at.most(9);
  });

  it('paces notifications: packetsPerInterval per connection interval; a full queue drops SILENTLY', () => {
    const e = program(
      serviceProgram(`
global.burst = function (n) { var ok = 0; for (var i = 0; i < n; i++) { notify(new Uint8Array([i])); ok++; } return ok; };
`),
      { board: 'puckjs', link: { queueDepth: 6, intervalMs: 7.5, packetsPerInterval: 1 } },
    );
    const c = recorder();
    e.connect(c, { mtu: 53 });
    expect(e.repl('burst(10)')).to.equal(10); // no exception for the 4 dropped
    e.advance(7.4);
    expect(c.got).to.have.length(0);
    e.advance(7.5 * 6);
    expect(c.got.map((g) => g.value[0])).to.deep.equal([0, 1, 2, 3, 4, 5]);
    const s = e.stats();
    expect(s.notificationsDropped).to.equal(4);
    expect(s.notificationsQueueFull).to.equal(4);
    expect(e.logs.filter((l) => /error/i.test(l))).to.have.length(0);
  });

  it('payload = MTU - 3 (capped by the chip): longer notifications are truncated, as the SoftDevice does', () => {
    const e = program(serviceProgram('', 128), { board: 'puckjs' });
    const c = recorder();
    e.connect(c, { mtu: 247 }); // nRF52832: MTU 53 at most
    e.repl('notify(new Uint8Array(100))');
    e.advance(20);
    expect(c.got[0]!.value.length).to.equal(50);
    expect(e.stats().notificationsTruncated).to.equal(1);
    expect(() => e.repl('notify(new Uint8Array(200))')).to.throw(/maxLen/);
  });

  it('dropRate loses queued notifications deterministically for a seed', () => {
    const run = (seed: number): number[] => {
      const e = program(
        serviceProgram(
          'global.burst = function (n) { for (var i = 0; i < n; i++) notify(new Uint8Array([i])); };',
        ),
        {
          link: { dropRate: 0.3, seed, queueDepth: 200, packetsPerInterval: 4 },
        },
      );
      const c = recorder();
      e.connect(c, { mtu: 247 });
      e.repl('burst(100)');
      e.advance(500);
      expect(e.stats().notificationsLost + c.got.length).to.equal(100);
      return c.got.map((g) => g.value[0]!);
    };
    const a = run(9);
    expect(a.length).to.be.within(55, 85);
    expect(run(9)).to.deep.equal(a);
    expect(run(10)).to.not.deep.equal(a);
  });

  it('console output goes to the Nordic UART as notifications and to logs', () => {
    const e = program(
      serviceProgram("global.hi = function () { console.log('hello', 42); Bluetooth.write('raw'); };"),
    );
    const c = recorder();
    e.connect(c, { mtu: 247 });
    e.repl('hi()');
    e.advance(50);
    const text = Buffer.concat(
      c.got.filter((g) => g.uuid.startsWith('6e400003')).map((g) => Buffer.from(g.value)),
    ).toString();
    expect(text).to.equal('hello 42\r\nraw');
    expect(e.logs).to.include.members(['hello 42', 'raw']);
  });

  it('the Nordic UART RX is the REPL: lines run on the device, \\x10 turns echo off', () => {
    const e = program(serviceProgram('var counter = 41;'));
    const c = recorder();
    e.connect(c, { mtu: 247 });
    const send = (s: string): void =>
      e.write('6e400002-b5a3-f393-e0a9-e50e24dcca9e', new Uint8Array(Buffer.from(s, 'latin1')));
    send('counter');
    send('++\n');
    send('\x10counter += 10\n');
    send('\x10console.log("c=" + counter)\n');
    e.advance(100);
    const text = Buffer.concat(
      c.got.filter((g) => g.uuid.startsWith('6e400003')).map((g) => Buffer.from(g.value)),
    ).toString();
    expect(text).to.equal('counter++\r\n=41\r\n>c=52\r\n');
    expect(e.repl('counter')).to.equal(52);
  });

  it('flashing over the UART: reset(), Storage.write(".bootcde"), load() runs the new code; it survives power cycles', () => {
    const e = program(serviceProgram('global.version = 1;'));
    const c = recorder();
    e.connect(c, { mtu: 247 });
    const send = (s: string): void =>
      e.write('6e400002-b5a3-f393-e0a9-e50e24dcca9e', new Uint8Array(Buffer.from(s, 'latin1')));
    expect(e.repl('global.version')).to.equal(1);
    send('\x10reset();\n');
    e.advance(20);
    expect(e.repl('typeof global.version')).to.equal('undefined');
    expect(e.connected, 'reset() keeps the BLE connection').to.equal(true);
    send('\x10require("Storage").write(".bootcde", "global.version = 2;");\n');
    send('\x10load();\n');
    e.advance(50);
    expect(e.repl('global.version')).to.equal(2);
    e.powerCycle();
    expect(e.repl('global.version')).to.equal(2);
    expect(c.disc).to.deep.equal(['power-cycle']);
  });

  it('setServices while connected applies after the disconnect (the stack restarts)', () => {
    const e = program(
      serviceProgram('global.change = function () { NRF.setServices({}, { uart: false }); };'),
    );
    e.connect(recorder(), { mtu: 247 });
    e.repl('change()');
    expect(e.services().map((s) => s.uuid)).to.include(SVC);
    e.disconnect();
    expect(e.services()).to.deep.equal([]);
  });

  it('the dynamic connection interval slows to 200 ms after 30 s idle (no setConnectionInterval)', () => {
    const e = program(serviceProgram('global.one = function () { notify(new Uint8Array([1])); };'));
    const c = recorder();
    e.connect(c, { mtu: 247 });
    e.advance(31000);
    e.repl('one()');
    e.advance(10); // 7.5 ms when active
    expect(c.got).to.have.length(0);
    e.advance(200);
    expect(c.got).to.have.length(1);
    // back to 7.5 ms about 1.5 s after traffic resumed
    e.advance(1500);
    e.repl('one()');
    e.advance(8);
    expect(c.got).to.have.length(2);
  });
});
