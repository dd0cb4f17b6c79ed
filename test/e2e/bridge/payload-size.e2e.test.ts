/**
 * The payload size a simulated earbud reports is what its radio carries: the MTU exchange caps the
 * central's 247 at the board's link limit (SimulatedEarbud.maxMtu: 53 on nRF52832 → 50-byte frames,
 * 131 on nRF52840 → 128), through the in-process link and through node-ble + the BlueZ emulator.
 */
import { expect } from 'chai';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { createEarbud } from '@budlink/sim';
import { Bridge, type BridgeEvent } from '../../../host/src/bridge/index';
import { startSimEnv, type SimEnv, type SimTransport } from '../../../host/src/bridge/simenv';
import { findDbusDaemon } from '@budlink/link/bluez';
import { LoopbackVoiceService } from '../../../host/src/voice/index';

const haveDaemon = findDbusDaemon() !== undefined;

describe('e2e: payload size of simulated earbuds', function () {
  this.timeout(30000);
  let env: SimEnv | undefined;
  let bridge: Bridge | undefined;
  afterEach(async () => {
    await bridge?.stop();
    await env?.close();
    bridge = undefined;
    env = undefined;
  });

  const cases: { board: string; maxMtu: number; payload: number }[] = [
    { board: 'puckjs', maxMtu: 53, payload: 50 },
    { board: 'nrf52840dk', maxMtu: 131, payload: 128 },
  ];

  for (const transport of ['in-process', 'bluez'] as SimTransport[]) {
    for (const c of cases) {
      it(`${c.board} behind the ${transport} link reports payloadSize ${c.payload}`, async function () {
        if (transport === 'bluez' && !haveDaemon) this.skip();
        env = await startSimEnv({
          earbuds: [{ engine: 'vm', board: c.board, clock: 'real', speed: 4 }],
          create: createEarbud,
          transport,
          connectTimeoutMs: 5000,
        });
        expect(env.transport).to.equal(transport);
        const earbud = env.earbuds[0];
        if (!earbud) throw new Error('no earbud');
        expect(earbud.maxMtu).to.equal(c.maxMtu);
        bridge = new Bridge({
          link: env.link,
          voice: new LoopbackVoiceService(),
          reconnect: { initialDelayMs: 50, maxDelayMs: 500, connectTimeoutMs: 5000 },
        });
        const seen = firstValueFrom(
          bridge.events$.pipe(
            filter(
              (e): e is Extract<BridgeEvent, { kind: 'connected' | 'hello' }> =>
                e.kind === 'connected' || e.kind === 'hello',
            ),
            take(2),
            toArray(),
            timeout({ first: 15000 }),
          ),
        );
        bridge.addDevice(earbud.address);
        const [connected, hello] = await seen;
        // The link's payload (ATT MTU − 3) and what the session agreed with the earbud in WELCOME.
        expect(connected).to.deep.include({ kind: 'connected', payloadSize: c.payload });
        expect(hello).to.deep.include({ kind: 'hello', payloadSize: c.payload });
        expect(bridge.status()[0]?.payloadSize).to.equal(c.payload);
      });
    }
  }
});
