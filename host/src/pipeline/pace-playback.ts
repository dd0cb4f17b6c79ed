/**
 * Operator: reply payloads (device codec bytes, one PLAY frame's worth each) -> PLAY frames on one
 * playback stream, paced by the device's CREDIT frames, then PLAY_END.
 *
 * Flow control: before the first CREDIT of the stream the host may send `initialWindow` frames;
 * afterwards it may send every seq before the latest CREDIT.upTo (wrap-around order). A device NACK
 * on the playback stream re-sends every frame from its `cumulative` on (the device drops what follows
 * a hole: go-back-N); frames are kept until the stream ends. When the source
 * completes, PLAY_END(COMPLETE) follows the last PLAY; the operator then waits until the device
 * reports every sample played (CREDIT.playedSamples >= total) and completes. Cancelling is the
 * caller's job (unsubscribe, then send PLAY_END CANCELLED with `progress`).
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
  const scheduler = options.scheduler ?? asyncScheduler;
  const stallMs = options.stallMs;
  const stream = options.stream & 0xff;
  return (source) =>
    new Observable<PlaybackOutput>((subscriber) => {
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
      /** Sequence numbers before this may be sent. */
      let upTo = seqAdd(progress.nextSeq, options.initialWindow);
      const queue: Uint8Array[] = [];
      const sent: PlayFrame[] = [];
      let sourceDone = false;
      let endSent = false;
      let stall: Subscription | undefined;

      const armStall = (): void => {
        stall?.unsubscribe();
        let ms = stallMs;
        if (endSent && options.sampleRate) {
          // Draining: the device needs at most the rest of the audio's duration; its final CREDIT
          // may be lost (it is a notification), so do not wait longer than that plus a margin.
          const rest = Math.max(0, progress.samplesSent - progress.samplesPlayed);
          ms = Math.min(stallMs, Math.ceil((rest * 1000) / options.sampleRate) + options.drainMarginMs);
        }
        stall = scheduler.schedule(() => {
          stall = undefined;
          if (endSent) finish(false);
          else subscriber.error(new PlaybackStallError(stallMs));
        }, ms);
      };
      const disarmStall = (): void => {
        stall?.unsubscribe();
        stall = undefined;
      };
      const finish = (drained: boolean): void => {
        disarmStall();
        subscriber.next({ kind: 'drained', totalSamples: progress.samplesSent, drained });
        subscriber.complete();
      };

      const pump = (): void => {
        while (queue.length > 0 && seqLess(progress.nextSeq, upTo)) {
          const samples = queue.shift() as Uint8Array;
          const frame: PlayFrame = { type: FrameType.PLAY, stream, seq: progress.nextSeq, samples };
          sent.push(frame);
          progress.lastSeq = progress.nextSeq;
          progress.nextSeq = seqAdd(progress.nextSeq, 1);
          progress.samplesSent += samples.length / options.bytesPerSample;
          subscriber.next({ kind: 'frame', frame, resend: false });
        }
        if (sourceDone && queue.length === 0 && !endSent) {
          endSent = true;
          const end: PlayEndFrame = {
            type: FrameType.PLAY_END,
            stream,
            seq: progress.nextSeq,
            reason: PlayEndReason.COMPLETE,
            lastSeq: progress.lastSeq ?? 0xffff, // PROTOCOL.md §PLAY_END: 65535 when no PLAY was sent
            totalSamples: progress.samplesSent,
          };
          subscriber.next({ kind: 'frame', frame: end, resend: false });
          if (progress.samplesPlayed >= progress.samplesSent) {
            finish(true);
            return;
          }
        }
        if (queue.length > 0 || (endSent && progress.samplesPlayed < progress.samplesSent)) {
          if (!stall) armStall();
        } else {
          disarmStall();
        }
      };

      const feedbackSub = options.feedback$.subscribe({
        next: (fb) => {
          if (fb.stream !== stream) return;
          if (fb.type === FrameType.CREDIT) {
            let advanced = false;
            if (seqDiff(fb.upTo, upTo) > 0) {
              upTo = fb.upTo;
              advanced = true;
            }
            if (fb.playedSamples > progress.samplesPlayed) {
              progress.samplesPlayed = Math.min(fb.playedSamples, progress.samplesSent);
              subscriber.next({ kind: 'played', samples: progress.samplesPlayed });
              advanced = true;
            }
            if (advanced) disarmStall();
            pump();
            if (endSent && !subscriber.closed && progress.samplesPlayed >= progress.samplesSent) finish(true);
          } else if (fb.type === FrameType.NACK) {
            // The device drops every PLAY after a hole (go-back-N): re-send from `cumulative` on.
            for (const frame of sent) {
              if (!seqLess(frame.seq, fb.cumulative)) subscriber.next({ kind: 'frame', frame, resend: true });
            }
          }
        },
        error: (e: unknown) => subscriber.error(e),
      });

      const sourceSub = source.subscribe({
        next: (payload) => {
          queue.push(payload);
          pump();
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });

      return () => {
        disarmStall();
        sourceSub.unsubscribe();
        feedbackSub.unsubscribe();
      };
    });
}
