/**
 * The bridge over the in-process link with scripted earbuds: it reconnects an earbud whose link it
 * dropped itself (no HELLO in time, or a silent link past the keep-alive timeout), and one earbud
 * cannot flood its log.
 */
import { expect } from 'chai';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { Bridge, type BridgeEvent, type BridgeOptions } from '../../../host/src/bridge/index';
import { InProcessLink } from '@budlink/link';
import { SESSION_DEFAULTS } from '../../../host/src/defaults';
import { LoopbackVoiceService } from '../../../host/src/voice/index';
import { ScriptedPeripheral } from '@budlink/test-support/scripted-earbud';
import { sleep } from '@budlink/test-support/wait';

/** Says nothing on its first connection (the bridge drops it), HELLO on the ones after. */
class MuteOnce extends ScriptedPeripheral {
  connections = 0;
  override connect(central: Parameters<ScriptedPeripheral['connect']>[0]): void {
    if (this.connections++ === 0) return;
    super.connect(central);
  }
}

describe('bridge (in-process link, scripted earbuds)', function () {
  this.timeout(10000);
  let bridge: Bridge | undefined;
  let link: InProcessLink | undefined;
  afterEach(async () => {
    await bridge?.stop();
    await link?.close();
  });

  /** A bridge over a link holding `earbud`, with the loopback service and no warm-up. */
  function start(earbud: ScriptedPeripheral, options: Partial<BridgeOptions>): Bridge {
    link = new InProcessLink({ peripherals: [earbud] });
    bridge = new Bridge({ link, voice: new LoopbackVoiceService(), warmRates: [], ...options });
    return bridge;
  }

  it('connects again after dropping a link that sent no HELLO, and the session goes on', async () => {
    const earbud = new MuteOnce('AA:00:00:00:00:01', { maxPayload: 50 });
    const b = start(earbud, {
      reconnect: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 },
      session: { helloTimeoutMs: 100, keepAliveMs: 0 },
    });
    const seen = firstValueFrom(
      b.events$.pipe(
        filter((e) => e.kind === 'connected' || e.kind === 'disconnected' || e.kind === 'hello'),
        take(4),
        toArray(),
        timeout({ first: 5000 }),
      ),
    );
    b.addDevice(earbud.address);
    const events = await seen;
    expect(
      events.map((e: BridgeEvent) => (e.kind === 'disconnected' ? `${e.kind}:${e.reason}` : e.kind)),
    ).to.deep.equal(['connected', 'disconnected:dropped', 'connected', 'hello']);
    expect(earbud.connections).to.equal(2);
  });

  it('3,000 WAKEs (12,000 lines before the limit) make at most the bursts, then a dropped-lines note', async () => {
    const earbud = new ScriptedPeripheral('AA:00:00:00:00:02', { maxPayload: 50, ring: false });
    const lines: string[] = [];
    let t = 0;
    const b = start(earbud, {
      session: { keepAliveMs: 0 },
      now: () => t, // no time passes: nothing refills
      logger: { log: (level, message) => lines.push(`${level} ${message}`) },
    });
    const hello = firstValueFrom(
      b.events$.pipe(
        filter((e) => e.kind === 'hello'),
        timeout(5000),
      ),
    );
    let reported = 0;
    b.events$.subscribe((e) => {
      if (e.kind === 'utterance') reported++;
    });
    b.addDevice(earbud.address);
    await hello;
    const before = lines.length;
    for (let i = 0; i < 3000; i++) earbud.earbud.wake();
    await sleep(200);
    expect(reported, 'every superseded WAKE is reported').to.be.at.least(2999);
    // The burst of debug lines and the burst of the others (each has its own bucket).
    expect(lines.length).to.be.at.most(2 * SESSION_DEFAULTS.logBurst);
    expect(lines.filter((l) => !l.startsWith('debug')).length).to.be.at.most(SESSION_DEFAULTS.logBurst);
    expect(lines.length - before).to.be.greaterThan(0);
    t = 1000;
    earbud.earbud.wake();
    await sleep(50);
    expect(lines.some((l) => /^warn \d+ log line\(s\) dropped: over 10 a second$/.test(l))).to.equal(true);
  });
});
