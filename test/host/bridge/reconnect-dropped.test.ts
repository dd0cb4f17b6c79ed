/**
 * The bridge reconnects an earbud whose link it dropped itself (no HELLO in time, or a silent link
 * past the keep-alive timeout): only a disconnect the bridge means to be final stops it.
 */
import { expect } from 'chai';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { Bridge, type BridgeEvent } from '../../../host/src/bridge/index';
import { InProcessLink } from '@budlink/link';
import { LoopbackVoiceService } from '../../../host/src/voice/index';
import { ScriptedPeripheral } from '../../support/scripted-earbud';

/** Says nothing on its first connection (the bridge drops it), HELLO on the ones after. */
class MuteOnce extends ScriptedPeripheral {
  connections = 0;
  override connect(central: Parameters<ScriptedPeripheral['connect']>[0]): void {
    if (this.connections++ === 0) return;
    super.connect(central);
  }
}

describe('bridge: reconnecting an earbud it dropped', function () {
  this.timeout(10000);
  let bridge: Bridge | undefined;
  let link: InProcessLink | undefined;
  afterEach(async () => {
    await bridge?.stop();
    await link?.close();
  });

  it('connects again after dropping a link that sent no HELLO, and the session goes on', async () => {
    const earbud = new MuteOnce('AA:00:00:00:00:01', { maxPayload: 50 });
    link = new InProcessLink({ peripherals: [earbud] });
    bridge = new Bridge({
      link,
      voice: new LoopbackVoiceService(),
      reconnect: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 },
      session: { helloTimeoutMs: 100, keepAliveMs: 0 },
      warmRates: [],
    });
    const seen = firstValueFrom(
      bridge.events$.pipe(
        filter((e) => e.kind === 'connected' || e.kind === 'disconnected' || e.kind === 'hello'),
        take(4),
        toArray(),
        timeout({ first: 5000 }),
      ),
    );
    bridge.addDevice(earbud.address);
    const events = await seen;
    expect(
      events.map((e: BridgeEvent) => (e.kind === 'disconnected' ? `${e.kind}:${e.reason}` : e.kind)),
    ).to.deep.equal(['connected', 'disconnected:dropped', 'connected', 'hello']);
    expect(earbud.connections).to.equal(2);
  });
});
