/** Speak while thinking: sentence syntheses, a few at once, their audio emitted in sentence order. */
import { VoiceError, type VoiceEvent } from './types';

/** Speech syntheses in flight at once (ordered output regardless). */
const TTS_CONCURRENCY = 2;

export interface SpokenPart {
  text: string;
  /** Audio emitted for this sentence. */
  ms: number;
  /** All of the sentence's audio was emitted (else ms is a lower bound of its length). */
  complete: boolean;
}

/** Ordered speech synthesis with bounded concurrency; audio is emitted strictly in sentence order. */
export class SpeechQueue {
  private readonly tasks: Array<{
    text: string;
    chunks: Array<{ pcm: Int16Array; rate: number }>;
    done: boolean;
    started: boolean;
  }> = [];
  private next = 0;
  private closed = false;
  private failure: unknown;
  private dirty = false;
  private wake: (() => void) | undefined;
  /** What was emitted, per sentence (for history and truncate). */
  readonly spoken: SpokenPart[] = [];

  constructor(
    private readonly synth: (text: string, onPcm: (pcm: Int16Array, rate: number) => void) => Promise<void>,
    private readonly emit: (ev: VoiceEvent) => void,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.poke(), { once: true });
  }

  add(text: string): void {
    this.tasks.push({ text, chunks: [], done: false, started: false });
    this.startMore();
    this.poke();
  }

  close(): void {
    this.closed = true;
    this.poke();
  }

  private startMore(): void {
    let active = 0;
    for (let i = this.next; i < this.tasks.length; i++) {
      const t = this.tasks[i]!;
      if (t.started && !t.done) active++;
    }
    for (let i = this.next; i < this.tasks.length && active < TTS_CONCURRENCY; i++) {
      const t = this.tasks[i]!;
      if (t.started) continue;
      t.started = true;
      active++;
      this.synth(t.text, (pcm, rate) => {
        t.chunks.push({ pcm, rate });
        this.poke();
      }).then(
        () => {
          t.done = true;
          this.startMore();
          this.poke();
        },
        (e: unknown) => {
          if (this.failure === undefined) this.failure = e;
          this.poke();
        },
      );
    }
  }

  private poke(): void {
    this.dirty = true;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private wait(): Promise<void> {
    if (this.dirty) {
      this.dirty = false;
      return Promise.resolve();
    }
    return new Promise((r) => {
      this.wake = () => {
        this.dirty = false;
        r();
      };
    });
  }

  /** Emits audio until every added sentence is spoken and close() was called. */
  async pump(): Promise<void> {
    for (;;) {
      if (this.signal.aborted) throw new VoiceError('cancelled', 'reply cancelled');
      if (this.failure !== undefined) throw this.failure;
      const t = this.tasks[this.next];
      if (!t) {
        if (this.closed) return;
        await this.wait();
        continue;
      }
      if (this.spoken.length <= this.next) this.spoken.push({ text: t.text, ms: 0, complete: false });
      const part = this.spoken[this.next]!;
      while (t.chunks.length > 0) {
        const c = t.chunks.shift()!;
        part.ms += (c.pcm.length * 1000) / c.rate;
        this.emit({ kind: 'audio', pcm: c.pcm, sampleRate: c.rate });
      }
      if (t.done) {
        part.complete = true;
        this.next++;
        continue;
      }
      await this.wait();
    }
  }
}
