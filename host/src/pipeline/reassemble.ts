/**
 * Operator: uplink utterance frames (WAKE / AUDIO / END, one sequence space per utterance stream,
 * ADR 0001) -> complete utterances, plus the ACK/NACK frames that recover what the link dropped.
 *
 * Per stream a protocol `Reassembler` puts frames back in order. Recovery:
 *  - a frame arriving past a hole, or an END with holes before it, triggers a NACK at once;
 *  - while the stream is incomplete, every `nackIntervalMs` the current ACK/NACK is sent again if no
 *    new frame arrived meanwhile (covers a lost NACK and a lost tail: the cumulative tells the device
 *    where to resume);
 *  - an ACK every `ackEveryFrames` frames frees the device's re-send ring;
 *  - `resync` (after a reconnect) sends the ACK/NACK immediately.
 * The stream survives reconnects: it ends only when complete, superseded by a new stream
 * ('dropped'), too long ('dropped' with `cancel`: the caller stops the device's capture), or
 * abandoned by the caller.
 *
 * Too long: more audio bytes than `maxUtterance().bytes`, or a sequence span (frames delivered plus
 * frames declared lost) longer than that many frames (every AUDIO frame carries at least one byte).
 * The span catches a device whose seqs leap ahead: each leap costs at most one window of work, and
 * it cannot keep a stream open for ever by counting as activity.
 *
 * Letting go (docs/PROTOCOL.md §6, "Letting go of a stream"): the device holds its END, and refuses a
 * new wake, until an ACK past END frees it, and every ACK restarts its "no ACK at all" give-up timer.
 * So a stream that ends here, for whatever reason, gets exactly one final ACK without gaps whose
 * cumulative is one past everything received (END.seq + 1 = END.lastSeq + 2 when END arrived), and its
 * periodic ACK/NACK stops. Any frame that still arrives for an ended stream is answered with an ACK past
 * it: END.seq + 1 once END is known, otherwise seq + 1 (never below what was already acknowledged), so
 * an abandoned stream whose END was not known yet is freed by the END the device sends in answer to
 * GATE CANCEL (the caller sends the GATE). Nothing is ever repeated on a timer for an ended stream.
 *
 * The first sequence number of every utterance stream is WAKE.seq; until the WAKE arrives it is
 * taken to be 0 (docs/PROTOCOL.md: streams start at 0), so a dropped WAKE is NACKed like audio.
 */
import {
  Observable,
  asyncScheduler,
  type OperatorFunction,
  type SchedulerAction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import {
  FrameType,
  Reassembler,
  seqAdd,
  seqDiff,
  type AckFrame,
  type AudioFrame,
  type EndFrame,
  type WakeFrame,
} from '@budlink/protocol';
import { bytesPerSample } from './to-device-audio';
import type { Utterance, WakeInfo } from './types';

export type UtteranceFrame = WakeFrame | AudioFrame | EndFrame;

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

/** The longest utterance accepted: its audio bytes (at the negotiated rate and codec) and its length. */
export interface UtteranceLimit {
  bytes: number;
  ms: number;
}

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

interface Stream {
  id: number;
  r: Reassembler<UtteranceFrame>;
  wake?: WakeFrame;
  end?: EndFrame;
  chunks: Uint8Array[];
  bytes: number;
  sinceAck: number;
  /** One past the furthest frame received, as a distance from `r.next` (0: nothing held ahead). */
  highest: number;
  /** Seqs `r.next` moved over since the stream opened (delivered or declared lost). */
  span: number;
  recovered: number;
  wakeAt: number;
  /** A frame arrived since the last periodic check. */
  fresh: boolean;
}

/** A stream that ended here (completed, abandoned, superseded) and the ACK that frees the device of it. */
interface Ended {
  id: number;
  /** One past everything received or given up: the ACK's cumulative. Only moves forward. */
  cumulative: number;
  /** END's seq, -1 while unknown. */
  end: number;
}

/**
 * Ended streams remembered, so that a late frame of one is ACKed instead of being taken for a new
 * stream. Device stream ids count up (u8), and `reset` clears them when the device restarts.
 */
const ENDED_MEMORY = 4;

export function reassemble(options: ReassembleOptions): OperatorFunction<ReassemblyInput, ReassemblyOutput> {
  return (source) =>
    new Observable<ReassemblyOutput>((subscriber) => {
      const streams = new Reassembly(options, (out) => subscriber.next(out));
      const sub = source.subscribe({
        next: (input) => streams.input(input),
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      return () => {
        streams.stop();
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

/** One subscription's streams: the current one being received, and those that ended here. */
class Reassembly {
  private current: Stream | undefined;
  /** Streams that ended (complete, abandoned, superseded), oldest first, at most ENDED_MEMORY. */
  private ended: Ended[] = [];
  private timer: Subscription | undefined;
  private readonly scheduler: SchedulerLike;

  constructor(
    private readonly options: ReassembleOptions,
    private readonly out: (o: ReassemblyOutput) => void,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
  }

  input(input: ReassemblyInput): void {
    if (input.kind === 'frame') this.frame(input.frame, input.at);
    else if (input.kind === 'resync') {
      // After a reconnect the device may still hold the last ended stream (the final ACK may have
      // been lost with the link): send it once more.
      const last = this.ended.at(-1);
      if (this.current) this.ack(this.current);
      else if (last) this.finalAck(last);
    } else if (input.kind === 'reset') {
      if (this.current) {
        this.current = undefined;
        this.stopTimer();
      }
      this.ended = [];
    } else if (this.current && this.current.id === input.stream) {
      this.finalAck(this.retire(this.current));
    }
  }

  stop(): void {
    this.stopTimer();
  }

  private frame(frame: UtteranceFrame, at: number): void {
    if (!this.current || this.current.id !== frame.stream) {
      const e = this.ended.find((x) => x.id === frame.stream);
      if (e) {
        // A late frame of a stream already ended here: ACK past it so the device frees its ring.
        this.lateFrame(e, frame);
        return;
      }
      this.open(frame, at);
    }
    const s = this.current as Stream;
    const before = s.r.next;
    const d = seqDiff(frame.seq, before);
    const code = s.r.accept(frame.seq, frame, frame.type === FrameType.END);
    if (code !== 1 /* Accept.ACCEPTED */) {
      // Duplicate (a re-send crossing our ACK) or garbage after END: nothing new.
      return;
    }
    s.fresh = true;
    // `highest` and `d` are distances from the old `next`.
    const filledGap = d < s.highest;
    const openedGap = d > s.highest;
    if (filledGap) s.recovered++;
    if (d + 1 > s.highest) s.highest = d + 1;
    for (const f of s.r.drain()) {
      if (f.type === FrameType.WAKE) s.wake = f;
      else if (f.type === FrameType.AUDIO) {
        s.chunks.push(f.samples.slice());
        s.bytes += f.samples.length;
      } else s.end = f;
    }
    const moved = seqDiff(s.r.next, before);
    s.highest = Math.max(0, s.highest - moved);
    s.span += moved;
    const limit = this.options.maxUtterance?.();
    if (limit !== undefined && (s.bytes > limit.bytes || s.span > limit.bytes)) {
      this.finalAck(this.retire(s));
      this.out({
        kind: 'dropped',
        stream: s.id,
        reason: `longer than the ${limit.ms / 1000} s utterance limit`,
        lost: s.r.lostCount,
        cancel: true,
      });
      return;
    }
    this.out({ kind: 'progress', stream: s.id });
    // Done: END and everything before it delivered, or declared lost because the device no longer
    // holds it (its ring overflowed). A few lost frames do not cost the whole utterance.
    if (s.r.done && s.wake && s.end) {
      this.complete(s, at);
      return;
    }
    if (s.r.done) {
      // END delivered but the WAKE was lost for good: no codec, no utterance; free the device.
      this.finalAck(this.retire(s));
      this.out({ kind: 'dropped', stream: s.id, reason: 'its WAKE was lost', lost: s.r.lostCount });
      return;
    }
    s.sinceAck++;
    const endWithHoles = frame.type === FrameType.END;
    if (openedGap || endWithHoles || s.sinceAck >= this.options.ackEveryFrames) this.ack(s);
  }

  /** A frame of a stream not seen before opens it (superseding the current one). */
  private open(frame: UtteranceFrame, at: number): void {
    if (this.current) {
      // The device only opens a stream once the previous one is over on its side: no ACK owed.
      const old = this.current;
      this.retire(old);
      this.out({
        kind: 'dropped',
        stream: old.id,
        reason: 'superseded by a new utterance',
        lost: old.r.lostCount,
      });
    }
    const first = frame.type === FrameType.WAKE ? frame.seq : 0;
    const window = Math.max(16, Math.min(32767, Math.floor(this.options.window())));
    this.current = {
      id: frame.stream,
      r: new Reassembler<UtteranceFrame>(first, window),
      chunks: [],
      bytes: 0,
      sinceAck: 0,
      highest: 0,
      span: 0,
      recovered: 0,
      wakeAt: at,
      fresh: true,
    };
    this.out({
      kind: 'started',
      stream: frame.stream,
      wake: frame.type === FrameType.WAKE ? wakeInfo(frame) : undefined,
      at,
    });
    this.startTimer();
  }

  private complete(s: Stream, at: number): void {
    const samples = new Uint8Array(s.bytes);
    let o = 0;
    for (const c of s.chunks) {
      samples.set(c, o);
      o += c.length;
    }
    const wake = s.wake as WakeFrame;
    const end = s.end as EndFrame;
    this.finalAck(this.retire(s));
    this.out({
      kind: 'complete',
      utterance: {
        deviceId: this.options.deviceId,
        stream: s.id,
        wake: wakeInfo(wake),
        codec: wake.codec,
        sampleRate: wake.sampleRate,
        samples,
        endReason: end.reason,
        recovered: s.recovered,
        lost: s.r.lostCount,
        wakeAt: s.wakeAt,
        completedAt: at,
      },
    });
  }

  /** Remember that `s` ended here; it no longer is the current stream and its timer stops. */
  private retire(s: Stream): Ended {
    if (this.current === s) {
      this.current = undefined;
      this.stopTimer();
    }
    s.r.finish(); // no-op when complete; otherwise next = one past the furthest frame received
    const e: Ended = { id: s.id, cumulative: s.r.next, end: s.r.end };
    this.ended = this.ended.filter((x) => x.id !== s.id);
    this.ended.push(e);
    if (this.ended.length > ENDED_MEMORY) this.ended.shift();
    return e;
  }

  /** The ACK that frees the device of an ended stream (everything before cumulative). */
  private finalAck(e: Ended): void {
    this.out({
      kind: 'send',
      frame: { type: FrameType.ACK, stream: e.id, seq: 0, cumulative: e.cumulative, gaps: [] },
    });
  }

  /** A frame of an ended stream: move the final ACK past it (or to END + 1) and send it again. */
  private lateFrame(e: Ended, frame: UtteranceFrame): void {
    if (e.end < 0) {
      if (frame.type === FrameType.END) e.end = frame.seq;
      const past = seqAdd(frame.seq, 1);
      if (seqDiff(past, e.cumulative) > 0) e.cumulative = past;
    }
    this.finalAck(e);
  }

  private ack(s: Stream): void {
    s.sinceAck = 0;
    this.out({ kind: 'send', frame: s.r.buildAck(s.id, 0, this.options.payloadSize()) });
  }

  private stopTimer(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  /** Every nackIntervalMs: a stream that received nothing since the last check is ACKed (NACKed) again. */
  private startTimer(): void {
    const ms = this.options.nackIntervalMs;
    if (this.timer || ms <= 0) return;
    const tick = (): boolean => {
      const s = this.current;
      if (!s) {
        this.timer = undefined;
        return false;
      }
      if (!s.fresh) this.ack(s);
      s.fresh = false;
      return true;
    };
    this.timer = this.scheduler.schedule(function (this: SchedulerAction<undefined>) {
      if (tick()) this.schedule(undefined, ms);
    }, ms);
  }
}
