/**
 * `createEarbud` (docs/adr/0005): one call starts an earbud on either engine, which boots the board's
 * built bundle and says HELLO to a host, with nothing engine-specific on the caller's side.
 */
import { expect } from 'chai';
import { FrameType } from '@budlink/protocol';
import { EspruinoEarbud, SimError, SimHost, SimulatedEarbud, createEarbud, type Earbud } from '@budlink/sim';
import { toolchainProblem } from '@budlink/sim/espruino/build';

/** Connect a host and run until the earbud's HELLO (at most 3 s of device time). */
async function hello(earbud: Earbud): Promise<SimHost> {
  const host = new SimHost(earbud, { mtu: 247 });
  host.connect();
  const end = earbud.now + 3000;
  while (host.hello === null && earbud.now < end) await host.runFor(20);
  return host;
}

describe('sim: createEarbud', function () {
  this.timeout(60_000);

  for (const [engine, cls] of [
    ['vm', SimulatedEarbud],
    ['espruino', EspruinoEarbud],
  ] as const) {
    it(`${engine}: starts the engine's earbud, which boots the bundle and says HELLO`, async () => {
      // not a skip, as in real-engine.test.ts: CI installs the toolchain, so its absence is a failure
      const problem = engine === 'espruino' ? toolchainProblem() : null;
      if (problem) throw new Error(problem);
      const earbud = await createEarbud({ engine, board: 'puckjs' });
      try {
        expect(earbud).to.be.instanceOf(cls);
        expect(earbud.board.id).to.equal('puckjs');
        const host = await hello(earbud);
        expect(host.hello, earbud.logs.slice(-10).join('\n')).to.not.equal(null);
        expect(host.frames[0]?.type).to.equal(FrameType.HELLO);
        expect(earbud.stats().handlerErrors).to.equal(0);
      } finally {
        await earbud.stop();
      }
    });
  }

  it('rejects an unknown board with the engine-neutral SimError', async () => {
    const err = await createEarbud({ engine: 'vm', board: 'no-such-board' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SimError);
    expect((err as SimError).kind).to.equal('unknown-board');
  });
});
