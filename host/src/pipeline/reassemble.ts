/**
 * Operator: uplink utterance frames (WAKE / AUDIO / END, one sequence space per utterance stream,
 * ADR 0001) -> complete utterances, plus the ACK/NACK frames that recover what the link dropped.
 *
 * The policy (when to ACK and NACK, letting go of a stream, the length limit) is the protocol's
 * `UtteranceReceiver` (@budlink/protocol/receiver), which the simulator's host uses too; this operator
 * runs its periodic tick every `nackIntervalMs` on the scheduler while a stream is being received, and
 * turns what it hands over into the pipeline's Utterance.
 */
import {
  Observable,
  asyncScheduler,
  type OperatorFunction,
  type SchedulerAction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { AckFrame, WakeFrame } from '@budlink/protocol';
import {
  UtteranceReceiver,
  type ReceivedUtterance,
  type UtteranceFrame,
  type UtteranceLimit,
} from '@budlink/protocol/receiver';
import { bytesPerSample } from './to-device-audio';
import type { Utterance, WakeInfo } from './types';

export type { UtteranceFrame, UtteranceLimit };

export type ReassemblyInput =
  | { kind: 'frame'; frame: UtteranceFrame; at: number }
  /**
   * Give this stream up (timed out / rejected / cancelled by the host): one final ACK past everything
   * received (past END when it arrived), then its later frames are only ACKed past themselves / END.
   * A no-op for a stream that already completed (it got its final ACK then).
   */
  | { kind: 'abandon'; stream: number }
  /** The link came back: tell the device at once what is missing (or re-send the final ACK). */
  | { kind: 'resync' }
  /**
   * The device restarted (new HELLO nonce): forget every stream, current and ended, without sending
   * anything (its stream ids start over, so an ACK for an old id could free a new stream's frames).
   */
  | { kind: 'reset' };

export type ReassemblyOutput =
  /** A frame to write to the device (ACK or NACK; seq stamped by the writer). */
  | { kind: 'send'; frame: AckFrame }
  /** First frame of a new utterance stream (`wake` is undefined when the WAKE itself was lost). */
  | { kind: 'started'; stream: number; wake?: WakeInfo; at: number }
  /** A new frame of the current utterance arrived. */
  | { kind: 'progress'; stream: number }
  | { kind: 'complete'; utterance: Utterance }
  /**
   * The stream was given up before completing (superseded by a newer one, or its END arrived but its
   * WAKE was lost for good); `lost`: gaps never recovered.
   */
  | {
      kind: 'dropped';
      stream: number;
      reason: string;
      /** Frames never recovered. */
      lost: number;
      /** The stream is over here but the device may still be capturing it: send GATE CANCEL. */
      cancel?: boolean;
    };

/** The limit for `ms` of audio at `sampleRate` in `codec` (undefined when `ms` is 0: no limit). */
export function utteranceLimit(ms: number, sampleRate: number, codec: number): UtteranceLimit | undefined {
  if (ms <= 0) return undefined;
  return { ms, bytes: Math.ceil((ms / 1000) * sampleRate) * bytesPerSample(codec) };
}

export interface ReassembleOptions {
  deviceId: string;
  /** Largest frame we may write (negotiated payload size), read when an ACK is built. */
  payloadSize: () => number;
  /** Receive window (>= the device's ring), read when a stream starts. */
  window: () => number;
  /** Re-NACK period while a stream has gaps (ms). */
  nackIntervalMs: number;
  /** ACK every N frames. */
  ackEveryFrames: number;
  /** The longest utterance accepted, read as each frame arrives (undefined: no limit). */
  maxUtterance?: () => UtteranceLimit | undefined;
  scheduler?: SchedulerLike;
}

export function reassemble(options: ReassembleOptions): OperatorFunction<ReassemblyInput, ReassemblyOutput> {
  return (source) =>
    new Observable<ReassemblyOutput>((subscriber) => {
      const scheduler = options.scheduler ?? asyncScheduler;
      let timer: Subscription | undefined;
      const stopTimer = (): void => {
        timer?.unsubscribe();
        timer = undefined;
      };
      const receiver = new UtteranceReceiver(options, (o) => {
        if (o.kind === 'complete') {
          subscriber.next({ kind: 'complete', utterance: utteranceOf(options.deviceId, o.utterance) });
          return;
        }
        if (o.kind === 'started') {
          subscriber.next({
            kind: 'started',
            stream: o.stream,
            wake: o.wake && wakeInfo(o.wake),
            at: o.at,
          });
          return;
        }
        subscriber.next(o);
      });
      /** Every nackIntervalMs while a stream is being received (ReceiverOptions: tick()). */
      const startTimer = (): void => {
        const ms = options.nackIntervalMs;
        if (timer || ms <= 0 || !receiver.receiving) return;
        timer = scheduler.schedule(function (this: SchedulerAction<undefined>) {
          if (receiver.tick()) this.schedule(undefined, ms);
          else timer = undefined;
        }, ms);
      };
      const sub = source.subscribe({
        next: (input) => {
          if (input.kind === 'frame') receiver.frame(input.frame, input.at);
          else if (input.kind === 'resync') receiver.resync();
          else if (input.kind === 'reset') receiver.reset();
          else receiver.abandon(input.stream);
          if (receiver.receiving) startTimer();
          else stopTimer();
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      return () => {
        stopTimer();
        sub.unsubscribe();
      };
    });
}

function wakeInfo(w: WakeFrame): WakeInfo {
  return {
    trigger: w.trigger,
    score: w.score,
    preRollMs: w.preRollMs,
    wakeStart: w.wakeStart,
    wakeEnd: w.wakeEnd,
  };
}

/** The receiver's utterance as the bridge's pipeline carries it. */
function utteranceOf(deviceId: string, u: ReceivedUtterance): Utterance {
  return {
    deviceId,
    stream: u.stream,
    wake: wakeInfo(u.wake),
    codec: u.wake.codec,
    sampleRate: u.wake.sampleRate,
    samples: u.samples,
    endReason: u.end.reason,
    recovered: u.recovered,
    lost: u.lost,
    wakeAt: u.startedAt,
    completedAt: u.completedAt,
  };
}
