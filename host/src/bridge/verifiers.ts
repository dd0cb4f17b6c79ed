/**
 * Wake verifiers the bridge ships (the WakeVerifier hook is in pipeline/types.ts):
 *  - acceptAllVerifier: the device decided, the host agrees (default).
 *  - energyWakeVerifier: re-checks the segment the device called a wake (WAKE.wakeStart..wakeEnd)
 *    against the pre-roll before it: a "wake" that is no louder than the room (a stuck gate, a
 *    noise burst the VAD mistook for speech) is rejected, so the earbud stops streaming (GATE REJECT)
 *    and nothing reaches the voice service. Taps and host-initiated utterances are always accepted.
 */
import { Trigger } from '@budlink/protocol';
import { utteranceToS16 } from '../pipeline/reply-controller';
import { acceptAllVerifier, type WakeVerifier } from '../pipeline/types';

export { acceptAllVerifier };

export interface EnergyVerifierOptions {
  /** Wake segment must be this much louder than the pre-roll (default 6 dB). */
  minSnrDb?: number;
  /** ... and at least this loud, RMS in 16-bit units (default 300, about -40 dBFS). */
  minRms?: number;
  /** Shortest wake segment considered, ms (default 300): short VAD hits are measured over this. */
  minSegmentMs?: number;
}

function rms(x: Int16Array, from: number, to: number): number {
  const a = Math.max(0, Math.min(x.length, Math.floor(from)));
  const b = Math.max(a, Math.min(x.length, Math.floor(to)));
  if (b <= a) return 0;
  // Remove the DC offset (8-bit ADCs rarely sit exactly at 128).
  let mean = 0;
  for (let i = a; i < b; i++) mean += x[i] as number;
  mean /= b - a;
  let sum = 0;
  for (let i = a; i < b; i++) {
    const v = (x[i] as number) - mean;
    sum += v * v;
  }
  return Math.sqrt(sum / (b - a));
}

export function energyWakeVerifier(options: EnergyVerifierOptions = {}): WakeVerifier {
  const minSnrDb = options.minSnrDb ?? 6;
  const minRms = options.minRms ?? 300;
  const minSegmentMs = options.minSegmentMs ?? 300;
  return {
    verify: (utterance, wake) => {
      if (wake.trigger === Trigger.TAP || wake.trigger === Trigger.HOST) {
        return Promise.resolve({ accept: true, score: 1 });
      }
      const pcm = utteranceToS16(utterance);
      const rate = utterance.sampleRate;
      const start = wake.wakeStart;
      const end = Math.max(wake.wakeEnd, start + (minSegmentMs * rate) / 1000);
      const speech = rms(pcm, start, end);
      const noise = rms(pcm, 0, start);
      const snrDb = 20 * Math.log10(Math.max(speech, 1) / Math.max(noise, 1));
      const accept = speech >= minRms && (start === 0 || snrDb >= minSnrDb);
      const score = Math.max(0, Math.min(1, snrDb / 30));
      return Promise.resolve({ accept, score: Math.round(score * 1000) / 1000 });
    },
  };
}

export type VerifierName = 'accept' | 'energy';

export function verifierByName(name: VerifierName): WakeVerifier {
  return name === 'energy' ? energyWakeVerifier() : acceptAllVerifier;
}
