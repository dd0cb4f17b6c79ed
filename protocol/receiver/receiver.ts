/**
 * The host side of utterance streams (docs/PROTOCOL.md §6), timer-free: uplink WAKE / AUDIO / END
 * frames in, complete utterances and the ACK/NACK frames that recover what the link dropped out. The
 * bridge (host/src/pipeline/reassemble.ts wraps it in an rxjs operator with its timer) and the
 * simulator's host (@budlink/sim's SimHost) both acknowledge with it, so the device is tested against
 * the policy it meets in use.
 *
 * Per stream a protocol `Reassembler` puts frames back in order. Recovery:
 *  - a frame arriving past a hole, or an END with holes before it, is answered with a NACK at once;
 *  - `tick()`, which the caller runs every NACK interval, sends the current ACK/NACK again if no new
 *    frame arrived since the last tick (covers a lost NACK and a lost tail: the cumulative tells the
 *    device where to resume);
 *  - an ACK every `ackEveryFrames` frames frees the device's re-send ring;
 *  - `resync()` (after a reconnect) sends the ACK/NACK at once.
 * The stream survives reconnects: it ends only when complete, superseded by a new stream ('dropped'),
 * too long ('dropped' with `cancel`: the caller stops the device's capture), or abandoned.
 *
 * Too long: more audio bytes than `maxUtterance().bytes`, or a sequence span (frames delivered plus
 * frames declared lost) longer than that many frames (every AUDIO frame carries at least one byte). The
 * span catches a device whose seqs leap ahead: each leap costs at most one window of work, and it
 * cannot keep a stream open for ever by counting as activity.
 *
 * Letting go (§6, "Letting go of a stream"): the device holds its END, and refuses a new wake, until an
 * ACK past END frees it. So a stream that ends here gets exactly one final ACK without gaps whose
 * cumulative is one past everything received, and its periodic ACK/NACK stops. Any frame that still
 * arrives for an ended stream is answered with an ACK past it: END.seq + 1 once END is known, otherwise
 * seq + 1 (never below what was already acknowledged). Nothing is ever repeated on a timer for an ended
 * stream.
 *
 * The first sequence number of every utterance stream is WAKE.seq; until the WAKE arrives it is taken
 * to be 0 (streams start at 0), so a dropped WAKE is NACKed like audio.
 */
import { FrameType, Reassembler, seqAdd, seqDiff } from '@budlink/protocol';
import type { AckFrame, AudioFrame, EndFrame, WakeFrame } from '@budlink/protocol';

export type UtteranceFrame = WakeFrame | AudioFrame | EndFrame;

/** The longest utterance accepted: its audio bytes (at the negotiated rate and codec) and its length. */
export interface UtteranceLimit {
  bytes: number;
  ms: number;
}

/** A stream that completed: END and every frame before it delivered or declared lost. */
export interface ReceivedUtterance {
  stream: number;
  wake: WakeFrame;
  end: EndFrame;
  /** Sample bytes in the device codec, in order. */
  samples: Uint8Array;
  /** Frames missing at least once and recovered by NACK. */
  recovered: number;
  /** Frames lost for good. */
  lost: number;
  /** Frames received more than once (re-sends that crossed an ACK). */
  duplicates: number;
  /** The caller's clock at the first frame of the stream and at the frame that completed it. */
  startedAt: number;
  completedAt: number;
}

export type ReceiverOutput =
  /** A frame to write to the device (ACK or NACK; seq stamped by the writer). */
  | { kind: 'send'; frame: AckFrame }
  /** First frame of a new utterance stream (`wake` undefined when the WAKE itself was lost). */
  | { kind: 'started'; stream: number; wake?: WakeFrame; at: number }
  /** A new frame of the current utterance arrived. */
  | { kind: 'progress'; stream: number }
  | { kind: 'complete'; utterance: ReceivedUtterance }
  /**
   * The stream was given up before completing (superseded, its WAKE lost for good, or too long);
   * `lost`: frames never recovered; `cancel`: the device may still be capturing it (send GATE CANCEL).
   */
  | { kind: 'dropped'; stream: number; reason: string; lost: number; cancel?: boolean };

export interface ReceiverOptions {
  /** Largest frame that may be written (negotiated payload size), read when an ACK is built. */
  payloadSize: () => number;
  /** Receive window (>= the device's ring), read when a stream starts. */
  window: () => number;
  /** ACK every N frames. */
  ackEveryFrames: number;
  /** The longest utterance accepted, read as each frame arrives (undefined: no limit). */
  maxUtterance?: () => UtteranceLimit | undefined;
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
  duplicates: number;
  startedAt: number;
  /** A frame arrived since the last tick. */
  fresh: boolean;
}

/** A stream that ended here and the ACK that frees the device of it. */
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

/** One device's utterance streams: the current one being received, and those that ended here. */
export class UtteranceReceiver {
  private stream: Stream | undefined;
  /** Streams that ended (complete, abandoned, superseded), oldest first, at most ENDED_MEMORY. */
  private ended: Ended[] = [];

  constructor(
    private readonly options: ReceiverOptions,
    private readonly out: (o: ReceiverOutput) => void,
  ) {}

  /** A stream is being received (the caller's periodic tick is needed). */
  get receiving(): boolean {
    return this.stream !== undefined;
  }

  /** The stream being received, as far as it got (undefined: none). */
  current():
    | { stream: number; wake?: WakeFrame; end?: EndFrame; samples: Uint8Array; duplicates: number }
    | undefined {
    const s = this.stream;
    return (
      s && {
        stream: s.id,
        wake: s.wake,
        end: s.end,
        samples: joined(s.chunks, s.bytes),
        duplicates: s.duplicates,
      }
    );
  }

  /** An uplink utterance frame, at the caller's clock `at`. */
  frame(frame: UtteranceFrame, at: number): void {
    if (!this.stream || this.stream.id !== frame.stream) {
      const e = this.ended.find((x) => x.id === frame.stream);
      if (e) {
        // A late frame of a stream already ended here: ACK past it so the device frees its ring.
        this.lateFrame(e, frame);
        return;
      }
      this.open(frame, at);
    }
    const s = this.stream as Stream;
    const before = s.r.next;
    const d = seqDiff(frame.seq, before);
    const code = s.r.accept(frame.seq, frame, frame.type === FrameType.END);
    if (code !== 1 /* Accept.ACCEPTED */) {
      // Duplicate (a re-send crossing our ACK) or garbage after END: nothing new.
      s.duplicates++;
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
      const reason = `longer than the ${limit.ms / 1000} s utterance limit`;
      this.out({ kind: 'dropped', stream: s.id, reason, lost: s.r.lostCount, cancel: true });
      return;
    }
    this.out({ kind: 'progress', stream: s.id });
    // Done: END and everything before it delivered, or declared lost because the device no longer
    // holds it (its ring overflowed).
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

  /**
   * Give stream `stream` up (timed out / rejected / cancelled by the caller): one final ACK past
   * everything received, then its later frames are only ACKed past themselves / END. A no-op for a
   * stream that is not the current one.
   */
  abandon(stream: number): void {
    if (this.stream && this.stream.id === stream) this.finalAck(this.retire(this.stream));
  }

  /** The link came back: tell the device at once what is missing (or re-send the last final ACK). */
  resync(): void {
    const last = this.ended[this.ended.length - 1];
    if (this.stream) this.ack(this.stream);
    else if (last) this.finalAck(last);
  }

  /**
   * The device restarted (new HELLO nonce): forget every stream, current and ended, without sending
   * anything (its stream ids start over, so an ACK for an old id could free a new stream's frames).
   */
  reset(): void {
    this.stream = undefined;
    this.ended = [];
  }

  /**
   * The periodic check (every NACK interval): a stream that received nothing since the last tick is
   * ACKed (NACKed) again. Returns whether a stream is still being received.
   */
  tick(): boolean {
    const s = this.stream;
    if (!s) return false;
    if (!s.fresh) this.ack(s);
    s.fresh = false;
    return true;
  }

  /** A frame of a stream not seen before opens it (superseding the current one). */
  private open(frame: UtteranceFrame, at: number): void {
    if (this.stream) {
      // The device only opens a stream once the previous one is over on its side: no ACK owed.
      const old = this.stream;
      this.retire(old);
      const reason = 'superseded by a new utterance';
      this.out({ kind: 'dropped', stream: old.id, reason, lost: old.r.lostCount });
    }
    const first = frame.type === FrameType.WAKE ? frame.seq : 0;
    const window = Math.max(16, Math.min(32767, Math.floor(this.options.window())));
    this.stream = {
      id: frame.stream,
      r: new Reassembler<UtteranceFrame>(first, window),
      chunks: [],
      bytes: 0,
      sinceAck: 0,
      highest: 0,
      span: 0,
      recovered: 0,
      duplicates: 0,
      startedAt: at,
      fresh: true,
    };
    const wake = frame.type === FrameType.WAKE ? frame : undefined;
    this.out({ kind: 'started', stream: frame.stream, wake, at });
  }

  private complete(s: Stream, at: number): void {
    this.finalAck(this.retire(s));
    this.out({
      kind: 'complete',
      utterance: {
        stream: s.id,
        wake: s.wake as WakeFrame,
        end: s.end as EndFrame,
        samples: joined(s.chunks, s.bytes),
        recovered: s.recovered,
        lost: s.r.lostCount,
        duplicates: s.duplicates,
        startedAt: s.startedAt,
        completedAt: at,
      },
    });
  }

  /** Remember that `s` ended here; it no longer is the current stream. */
  private retire(s: Stream): Ended {
    if (this.stream === s) this.stream = undefined;
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
}

function joined(chunks: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
