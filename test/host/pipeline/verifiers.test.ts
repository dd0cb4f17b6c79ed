import { expect } from 'chai';
import { firstValueFrom, from, type Observable } from 'rxjs';
import { Codec, Trigger } from '@budlink/protocol';
import { energyWakeVerifier, verifierByName } from '../../../host/src/bridge/verifiers';
import type { Utterance, WakeVerdict } from '../../../host/src/pipeline/types';

const verdict = (r: Promise<WakeVerdict> | Observable<WakeVerdict>): Promise<WakeVerdict> =>
  firstValueFrom(from(r));

/** 8 kHz u8 utterance: `noiseMs` of noise at ±`noise`, then `speechMs` of a 300 Hz tone at ±`amp`. */
function utterance(
  noiseMs: number,
  noise: number,
  speechMs: number,
  amp: number,
  trigger: number = Trigger.WAKEWORD,
): Utterance {
  const rate = 8000;
  const n0 = (noiseMs * rate) / 1000;
  const n1 = (speechMs * rate) / 1000;
  const samples = new Uint8Array(n0 + n1);
  let seed = 7;
  for (let i = 0; i < n0; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    samples[i] = 128 + Math.round(((seed / 0xffffffff) * 2 - 1) * noise);
  }
  for (let i = 0; i < n1; i++)
    samples[n0 + i] = 128 + Math.round(amp * Math.sin((2 * Math.PI * 300 * i) / rate));
  return {
    deviceId: 'd',
    stream: 1,
    wake: {
      trigger: trigger as Utterance['wake']['trigger'],
      score: 200,
      preRollMs: noiseMs,
      wakeStart: n0,
      wakeEnd: n0 + 2400,
    },
    codec: Codec.PCM_U8,
    sampleRate: rate,
    samples,
    endReason: 1,
    recovered: 0,
    lost: 0,
    wakeAt: 0,
    completedAt: 0,
  };
}

describe('bridge/verifiers (WakeVerifier implementations)', () => {
  const v = energyWakeVerifier();

  it('accepts a wake clearly louder than the pre-roll', async () => {
    const u = utterance(500, 2, 1000, 60);
    const r = await verdict(v.verify(u, u.wake));
    expect(r.accept).to.equal(true);
    expect(r.score).to.be.greaterThan(0.5);
  });

  it('rejects a "wake" no louder than the room (stuck gate / noise burst), and near-silence', async () => {
    const flat = utterance(500, 20, 1000, 20);
    expect((await verdict(v.verify(flat, flat.wake))).accept).to.equal(false);
    const quiet = utterance(500, 0, 1000, 1);
    expect((await verdict(v.verify(quiet, quiet.wake))).accept).to.equal(false);
  });

  it('always accepts a tap, and the default verifier accepts everything', async () => {
    const tap = utterance(500, 20, 1000, 20, Trigger.TAP);
    expect(await verdict(v.verify(tap, tap.wake))).to.deep.equal({ accept: true, score: 1 });
    const quiet = utterance(500, 0, 1000, 1);
    expect((await verdict(verifierByName('accept').verify(quiet, quiet.wake))).accept).to.equal(true);
  });
});
