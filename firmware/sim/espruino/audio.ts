/**
 * The real engine's audio as the driver sees it: the microphone samples it queued and which of them the
 * ADC has taken (the shim reports runs of fed and silent samples), and the speaker's 8-bit samples
 * decoded from the PWM values the shim reports.
 */
import type { SpeakerProfile } from '@budlink/firmware/boards';

/** The queued microphone audio and every sample the ADC took (micSamples()). */
export class MicMirror {
  private readonly fed: Uint8Array[] = [];
  private fedPos = 0;
  private fedTotal = 0;
  private consumed = 0;
  readonly history: number[] = [];

  /** Audio sent to the shim (8-bit, at the ADC's rate). */
  push(samples: Uint8Array): void {
    this.fed.push(samples);
    this.fedTotal += samples.length;
  }

  clear(): void {
    this.fed.length = 0;
    this.fedPos = 0;
    this.consumed = this.fedTotal = 0;
  }

  /** Samples queued that the ADC has not taken yet. */
  pending(): number {
    return Math.max(0, this.fedTotal - this.consumed);
  }

  /** The ADC took `n` samples: fed (`f`) or silent (`s`, none queued). Returns the silent ones. */
  took(kind: string, n: number): number {
    if (kind === 's') {
      for (let i = 0; i < n; i++) this.history.push(128);
      return n;
    }
    for (let i = 0; i < n; i++) {
      const c = this.fed[0];
      if (!c) break;
      this.history.push(c[this.fedPos++]!);
      this.consumed++;
      if (this.fedPos >= c.length) {
        this.fed.shift();
        this.fedPos = 0;
      }
    }
    return 0;
  }
}

/** PWM values → 8-bit samples: one pin (value >> 8) or a differential pair (pin − npin). */
export class SpeakerDecoder {
  readonly samples: number[] = [];
  private lastPos = 0;

  constructor(private readonly spk: SpeakerProfile) {}

  write(writes: { pin: string; values: number[] }[]): void {
    const spk = this.spk;
    for (const { pin, values } of writes) {
      for (const v of values) {
        if (pin === spk.pin) {
          if (!spk.npin) this.samples.push(v >> 8);
          else this.lastPos = v;
        } else if (spk.npin && pin === spk.npin) {
          // the ISR drives pin with 2·(v − 32768) when positive, npin with 2·(32768 − v) otherwise
          const sum = (this.lastPos - v) / 2;
          this.samples.push(Math.max(0, Math.min(255, Math.round((sum + 32768) / 256))));
        }
      }
    }
  }
}
