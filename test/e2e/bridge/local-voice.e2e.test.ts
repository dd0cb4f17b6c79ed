/**
 * `budlink demo` with the offline voice service (pocketsphinx + espeak-ng; pending when they are not
 * installed): the simulated earbud speaks the bundled utterance, the local service answers it with
 * speech that comes out of the earbud's speaker, and the demo exits 0. With no key, no base URL and no
 * BUDLINK_VOICE, the service is chosen because both programs are on PATH (what `npm start` does).
 */
import { expect } from 'chai';
import { main } from '../../../host/src/cli/main';
import { localToolsMissing, pendingBecause } from '../../host/voice/helpers';
import type { DemoResult } from '../../../host/src/cli/demo';

async function demo(env: Record<string, string | undefined>): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await main(['demo', '--transport', 'in-process', '--json'], {
    stdout: (t) => out.push(t),
    stderr: () => undefined,
    env,
  });
  return { code, out: out.join('\n') };
}

describe('e2e: budlink demo with the local voice service', function () {
  this.timeout(90000);
  const missing = localToolsMissing();
  if (missing !== undefined) return pendingBecause(missing);

  it('answers the bundled utterance with real speech and exits 0 (BUDLINK_VOICE=local)', async () => {
    const { code, out } = await demo({ PATH: process.env.PATH, BUDLINK_VOICE: 'local' });
    const r = JSON.parse(out) as DemoResult;
    expect(code, out).to.equal(0);
    expect(r.voiceService).to.equal('local (pocketsphinx + espeak-ng)');
    expect(r.report?.outcome).to.equal('complete');
    const reply = r.report?.transcript.assistant ?? '';
    expect(reply).to.match(
      /^(You said: .+\.|Sorry, I didn't catch that\.|It is |Today is |Hello!|You're welcome)/,
    );
    // espeak-ng's reply, resampled to the earbud's 8 kHz: at least half a second of it was heard.
    expect(r.report?.replySamples ?? 0).to.be.greaterThan(4000);
    expect(r.speakerSamples).to.be.greaterThan(4000);
  });

  it('is the default when both programs are on PATH and nothing else is configured', async () => {
    const { code, out } = await demo({ PATH: process.env.PATH });
    expect(code, out).to.equal(0);
    expect((JSON.parse(out) as DemoResult).voiceService).to.equal('local (pocketsphinx + espeak-ng)');
  });
});
