/**
 * One earbud cannot flood the bridge's log: 3,000 WAKEs (each superseding the last) make a bounded
 * number of lines, and the log says how many it dropped.
 */
import { expect } from 'chai';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { Bridge } from '../../../host/src/bridge/index';
import { InProcessLink } from '@budlink/link';
import { SESSION_DEFAULTS } from '../../../host/src/defaults';
import { LoopbackVoiceService } from '../../../host/src/voice/index';
import { ScriptedPeripheral } from '../../support/scripted-earbud';

describe('bridge: log lines per earbud are rate-limited', function () {
  this.timeout(10000);
  let bridge: Bridge | undefined;
  let link: InProcessLink | undefined;
  afterEach(async () => {
    await bridge?.stop();
    await link?.close();
  });

  it('3,000 WAKEs (12,000 lines before the limit) make at most the bursts, then a dropped-lines note', async () => {
    const earbud = new ScriptedPeripheral('AA:00:00:00:00:02', { maxPayload: 50, ring: false });
    link = new InProcessLink({ peripherals: [earbud] });
    const lines: string[] = [];
    let t = 0;
    bridge = new Bridge({
      link,
      voice: new LoopbackVoiceService(),
      session: { keepAliveMs: 0 },
      warmRates: [],
      now: () => t, // no time passes: nothing refills
      logger: { log: (level, message) => lines.push(`${level} ${message}`) },
    });
    const hello = firstValueFrom(
      bridge.events$.pipe(
        filter((e) => e.kind === 'hello'),
        timeout(5000),
      ),
    );
    let reported = 0;
    bridge.events$.subscribe((e) => {
      if (e.kind === 'utterance') reported++;
    });
    bridge.addDevice(earbud.address);
    await hello;
    const before = lines.length;
    for (let i = 0; i < 3000; i++) earbud.earbud.wake();
    await new Promise((r) => setTimeout(r, 200));
    expect(reported, 'every superseded WAKE is reported').to.be.at.least(2999);
    // The burst of debug lines and the burst of the others (each has its own bucket).
    expect(lines.length).to.be.at.most(2 * SESSION_DEFAULTS.logBurst);
    expect(lines.filter((l) => !l.startsWith('debug')).length).to.be.at.most(SESSION_DEFAULTS.logBurst);
    expect(lines.length - before).to.be.greaterThan(0);
    t = 1000;
    earbud.earbud.wake();
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.some((l) => /^warn \d+ log line\(s\) dropped: over 10 a second$/.test(l))).to.equal(true);
  });
});
