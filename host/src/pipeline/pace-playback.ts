/**
 * Operator: reply payloads (device codec bytes, one PLAY frame's worth each) -> PLAY frames on one
 * playback stream, paced by the device's CREDIT frames, then PLAY_END.
 *
 * Flow control: before the first CREDIT of the stream the host may send `initialWindow` frames;
 * afterwards it may send every seq before the latest CREDIT.upTo (wrap-around order). A device NACK
 * on the playback stream re-sends every frame from its `cumulative` on (the device drops what follows
 * a hole: go-back-N), at most once per `nackHoldMs` for the same hole; frames are kept until the
 * stream ends. When the source
 * completes, PLAY_END(COMPLETE) follows the last PLAY; the operator then waits until the device
 * reports every sample played (CREDIT.playedSamples >= total) and completes. Cancelling is the
 * caller's job (unsubscribe, then send PLAY_END CANCELLED with `progress`).
 *
 * A CREDIT is a notification and may be lost; the device repeats one only as its buffer drains, so
 * before its speaker has started nothing would. Out of credit for `probeMs` with frames waiting, the
 * operator re-sends the last PLAY frame (`resend: true`): the device answers a repeat of the last
 * frame it accepted with a CREDIT (PROTOCOL.md §7). Again every `probeMs`, until credit comes.
 *
 * Errors: PlaybackStallError when the device grants no credit for `stallMs` while frames wait.
 * A device that never reports the last samples played does not hang the session: without credits
 * in the drain phase the operator completes (with `drained: false`) after `stallMs`, or sooner when
 * `sampleRate` says the rest of the audio must have played by then.
 */
import {
  Observable,
  asyncScheduler,
  type OperatorFunction,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
} from 'rxjs';
import {
  FrameType,
  PlayEndReason,
  seqAdd,
  seqDiff,
  seqLess,
  type AckFrame,
  type CreditFrame,
  type PlayEndFrame,
  type PlayFrame,
} from '@budlink/protocol';

export class PlaybackStallError extends Error {
  constructor(readonly stallMs: number) {
    super(`device granted no playback credit for ${stallMs} ms`);
    this.name = 'PlaybackStallError';
  }
}

export type PlaybackOutput =
  | { kind: 'frame'; frame: PlayFrame | PlayEndFrame; resend: boolean }
  /** The device reported more samples played (monotonic). */
  | { kind: 'played'; samples: number }
  /** Terminal: all frames sent and PLAY_END written; `drained`: the device reported all played. */
  | { kind: 'drained'; totalSamples: number; drained: boolean };

/** Where a playback stream stands; the caller reads it to cancel (PLAY_END CANCELLED). */
export interface PlaybackProgress {
  nextSeq: number;
  /** seq of the last PLAY sent, or undefined. */
  lastSeq: number | undefined;
  samplesSent: number;
  samplesPlayed: number;
}

export interface PacePlaybackOptions {
  stream: number;
  firstSeq: number;
  /** CREDIT and NACK frames from the device (any stream: filtered here). */
  feedback$: Observable<CreditFrame | AckFrame>;
  bytesPerSample: number;
  /** Frames allowed before the first CREDIT. */
  initialWindow: number;
  /** Credit stall timeout (ms). */
  stallMs: number;
  /** Out of credit this long with frames waiting: re-send the last PLAY as a credit probe (ms; 0: never). */
  probeMs: number;
  /** A NACK from the same seq within this long of the re-send it caused is ignored (ms; 0: none). */
  nackHoldMs: number;
  /**
   * Device playback rate: bounds the wait for the device's last CREDIT after PLAY_END to the rest
   * of the audio's duration + drainMarginMs, so a lost final CREDIT costs little.
   */
  sampleRate?: number;
  drainMarginMs: number;
  scheduler?: SchedulerLike;
  /** Filled in as the stream advances. */
  progress?: PlaybackProgress;
}

export function pacePlayback(options: PacePlaybackOptions): OperatorFunction<Uint8Array, PlaybackOutput> {
  return (source) =>
    new Observable<PlaybackOutput>((subscriber) => {
      const pacing = new Pacing(options, subscriber);
      const feedbackSub = options.feedback$.subscribe({
        next: (fb) => pacing.feedback(fb),
        error: (e: unknown) => subscriber.error(e),
      });
      const sourceSub = source.subscribe({
        next: (payload) => pacing.push(payload),
        error: (e: unknown) => subscriber.error(e),
        complete: () => pacing.sourceDone(),
      });
      return () => {
        pacing.stop();
        sourceSub.unsubscribe();
        feedbackSub.unsubscribe();
      };
    });
}

/** One reply stream's pacing: the frames queued, the credit window, what was sent, the stall timer. */
class Pacing {
  private readonly stream: number;
  private readonly progress: PlaybackProgress;
  private readonly scheduler: SchedulerLike;
  /** Sequence numbers before this may be sent. */
  private upTo: number;
  private readonly queue: Uint8Array[] = [];
  private readonly sent: PlayFrame[] = [];
  private done = false;
  private endSent = false;
  private stall: Subscription | undefined;
  private probe: Subscription | undefined;
  /** The last NACK answered (its cumulative) and when (scheduler time). */
  private nackFrom = -1;
  private nackAt = 0;

  constructor(
    private readonly options: PacePlaybackOptions,
    private readonly subscriber: Subscriber<PlaybackOutput>,
  ) {
    this.stream = options.stream & 0xff;
    this.scheduler = options.scheduler ?? asyncScheduler;
    const progress: PlaybackProgress = options.progress ?? {
      nextSeq: 0,
      lastSeq: undefined,
      samplesSent: 0,
      samplesPlayed: 0,
    };
    progress.nextSeq = options.firstSeq & 0xffff;
    progress.lastSeq = undefined;
    progress.samplesSent = 0;
    progress.samplesPlayed = 0;
    this.progress = progress;
    this.upTo = seqAdd(progress.nextSeq, options.initialWindow);
  }

  push(payload: Uint8Array): void {
    this.queue.push(payload);
    this.pump();
  }

  sourceDone(): void {
    this.done = true;
    this.pump();
  }

  stop(): void {
    this.disarmStall();
    this.disarmProbe();
  }

  feedback(fb: CreditFrame | AckFrame): void {
    const progress = this.progress;
    if (fb.stream !== this.stream) return;
    if (fb.type === FrameType.CREDIT) {
      let advanced = false;
      if (seqDiff(fb.upTo, this.upTo) > 0) {
        this.upTo = fb.upTo;
        advanced = true;
      }
      if (fb.playedSamples > progress.samplesPlayed) {
        progress.samplesPlayed = Math.min(fb.playedSamples, progress.samplesSent);
        this.subscriber.next({ kind: 'played', samples: progress.samplesPlayed });
        advanced = true;
      }
      if (advanced) {
        this.disarmStall();
        this.disarmProbe();
      }
      this.pump();
      if (this.endSent && !this.subscriber.closed && progress.samplesPlayed >= progress.samplesSent) {
        this.finish(true);
      }
    } else if (fb.type === FrameType.NACK) {
      // The device drops every PLAY after a hole (go-back-N): re-send from `cumulative` on, once per
      // nackHoldMs for the same hole (a NACK flood costs one re-send, not one per NACK).
      const now = this.scheduler.now();
      if (fb.cumulative === this.nackFrom && now - this.nackAt < this.options.nackHoldMs) return;
      this.nackFrom = fb.cumulative;
      this.nackAt = now;
      for (const frame of this.sent) {
        if (!seqLess(frame.seq, fb.cumulative)) this.subscriber.next({ kind: 'frame', frame, resend: true });
      }
    }
  }

  private pump(): void {
    const progress = this.progress;
    while (this.queue.length > 0 && seqLess(progress.nextSeq, this.upTo)) {
      const samples = this.queue.shift() as Uint8Array;
      const frame: PlayFrame = { type: FrameType.PLAY, stream: this.stream, seq: progress.nextSeq, samples };
      this.sent.push(frame);
      progress.lastSeq = progress.nextSeq;
      progress.nextSeq = seqAdd(progress.nextSeq, 1);
      progress.samplesSent += samples.length / this.options.bytesPerSample;
      this.subscriber.next({ kind: 'frame', frame, resend: false });
    }
    if (this.done && this.queue.length === 0 && !this.endSent) {
      this.endSent = true;
      const end: PlayEndFrame = {
        type: FrameType.PLAY_END,
        stream: this.stream,
        seq: progress.nextSeq,
        reason: PlayEndReason.COMPLETE,
        lastSeq: progress.lastSeq ?? 0xffff, // PROTOCOL.md §PLAY_END: 65535 when no PLAY was sent
        totalSamples: progress.samplesSent,
      };
      this.subscriber.next({ kind: 'frame', frame: end, resend: false });
      if (progress.samplesPlayed >= progress.samplesSent) {
        this.finish(true);
        return;
      }
    }
    if (this.queue.length > 0 || (this.endSent && progress.samplesPlayed < progress.samplesSent)) {
      if (!this.stall) this.armStall();
    } else {
      this.disarmStall();
    }
    if (this.queue.length > 0 && this.sent.length > 0) {
      if (!this.probe) this.armProbe();
    } else {
      this.disarmProbe();
    }
  }

  /** Out of credit with frames waiting: ask again by repeating the last PLAY (see the header). */
  private armProbe(): void {
    const { probeMs } = this.options;
    if (!(probeMs > 0)) return;
    this.probe = this.scheduler.schedule(() => {
      this.probe = undefined;
      const last = this.sent[this.sent.length - 1];
      if (last) this.subscriber.next({ kind: 'frame', frame: last, resend: true });
      this.armProbe();
    }, probeMs);
  }

  private disarmProbe(): void {
    this.probe?.unsubscribe();
    this.probe = undefined;
  }

  private armStall(): void {
    this.stall?.unsubscribe();
    const { stallMs, sampleRate, drainMarginMs } = this.options;
    let ms = stallMs;
    if (this.endSent && sampleRate) {
      // Draining: the device needs at most the rest of the audio's duration; its final CREDIT may be
      // lost (it is a notification), so do not wait longer than that plus a margin.
      const rest = Math.max(0, this.progress.samplesSent - this.progress.samplesPlayed);
      ms = Math.min(stallMs, Math.ceil((rest * 1000) / sampleRate) + drainMarginMs);
    }
    this.stall = this.scheduler.schedule(() => {
      this.stall = undefined;
      if (this.endSent) this.finish(false);
      else this.subscriber.error(new PlaybackStallError(stallMs));
    }, ms);
  }

  private disarmStall(): void {
    this.stall?.unsubscribe();
    this.stall = undefined;
  }

  private finish(drained: boolean): void {
    this.disarmStall();
    this.disarmProbe();
    this.subscriber.next({ kind: 'drained', totalSamples: this.progress.samplesSent, drained });
    this.subscriber.complete();
  }
}
