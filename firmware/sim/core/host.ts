/**
 * A minimal host side of the Budlink protocol for driving the simulated earbud from tests and benches
 * (not the bridge: see host/src/pipeline): answers HELLO with WELCOME, reassembles utterance streams
 * with the protocol's Reassembler and acknowledges them like the bridge does, collects every frame.
 */
import {
  Codec,
  FrameType,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  Reassembler,
  UPLINK_UUID,
  DOWNLINK_UUID,
  decodeFrame,
  encodeFrame,
} from '@budlink/protocol';
import type { Frame, HelloFrame, WakeFrame, EndFrame, AudioFrame } from '@budlink/protocol';
import type { TimedPeripheral } from '@budlink/link';

export interface Utterance {
  stream: number;
  wake: WakeFrame;
  audio: Uint8Array;
  end: EndFrame | null;
  /** Frames received more than once (re-sends after NACK that raced an original). */
  duplicates: number;
  complete: boolean;
}

interface StreamState {
  r: Reassembler<Frame>;
  wake: WakeFrame | null;
  chunks: Uint8Array[];
  end: EndFrame | null;
  dirty: boolean;
  duplicates: number;
  /** Frames accepted since the last ACK/NACK. */
  sinceAck: number;
  /** A gap opened or END arrived since the last ACK/NACK: answer at once. */
  urgent: boolean;
  lastAckAt: number;
}

export class SimHost {
  hello: HelloFrame | null = null;
  readonly frames: Frame[] = [];
  readonly undecodable: Uint8Array[] = [];
  readonly consoleText: string[] = [];
  disconnected: string | null = null;
  payload = 20;
  private readonly streams = new Map<number, StreamState>();
  private readonly finished: Utterance[] = [];
  private seq = 0;
  nacksSent = 0;
  acksSent = 0;
  /** The link is up (connect() until disconnect() or the earbud's disconnect). */
  linkUp = false;

  constructor(
    readonly earbud: TimedPeripheral & { advance?(ms: number): void },
    readonly options: { mtu: number; autoWelcome?: boolean; sampleRate?: number } = { mtu: 247 },
  ) {}

  connect(): void {
    this.earbud.connect(
      {
        onNotify: (uuid, value) => this.onNotify(uuid, value),
        onDisconnect: (reason) => {
          this.disconnected = reason;
          this.linkUp = false;
        },
      },
      { mtu: this.options.mtu },
    );
    this.linkUp = true;
  }

  /** Drop the link (the host side): nothing more is written until connect(). */
  disconnect(): void {
    this.linkUp = false;
    this.earbud.disconnect();
  }

  /** Write one frame to the downlink (throws if it does not encode); nothing while the link is down. */
  send(f: Frame): void {
    const r = encodeFrame(f, this.payload);
    if (!r.ok) throw new Error(`test host cannot encode ${f.type}: ${r.error.message}`);
    if (this.linkUp) this.earbud.write(DOWNLINK_UUID, r.bytes);
  }

  nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    return s;
  }

  private onNotify(uuid: string, value: Uint8Array): void {
    if (uuid !== UPLINK_UUID) {
      this.consoleText.push(Buffer.from(value).toString('latin1'));
      return;
    }
    const r = decodeFrame(new Uint8Array(value));
    if (!r.ok) {
      this.undecodable.push(value);
      return;
    }
    const f = r.frame;
    this.frames.push(f);
    if (f.type === FrameType.HELLO) {
      this.hello = f;
      if (this.options.autoWelcome !== false) this.welcome();
      return;
    }
    if (f.type === FrameType.WAKE || f.type === FrameType.AUDIO || f.type === FrameType.END) {
      let st = this.streams.get(f.stream);
      if (!st) {
        // A WAKE anchors the window at its seq. AUDIO before its WAKE (the WAKE was dropped): remember
        // nothing yet, with a window anchored below this seq, until the NACK brings the WAKE back.
        st = {
          r: new Reassembler<Frame>(
            f.type === FrameType.WAKE ? f.seq : 0,
            Math.max(1, this.hello?.ringFrames ?? 64),
          ),
          wake: null,
          chunks: [],
          end: null,
          dirty: false,
          duplicates: 0,
          sinceAck: 0,
          urgent: false,
          lastAckAt: 0,
        };
        this.streams.set(f.stream, st);
      }
      const gapsBefore = st.r.gaps(1).length;
      const a = st.r.accept(f.seq, copyFrame(f), f.type === FrameType.END);
      if (a !== 1) st.duplicates++;
      st.dirty = true;
      st.sinceAck++;
      if (f.type === FrameType.END || (gapsBefore === 0 && st.r.gaps(1).length > 0)) st.urgent = true;
      for (const x of st.r.drain()) {
        if (x.type === FrameType.WAKE) st.wake = x;
        else if (x.type === FrameType.AUDIO) st.chunks.push((x as AudioFrame).samples);
        else if (x.type === FrameType.END) st.end = x;
      }
    }
  }

  welcome(): void {
    const h = this.hello!;
    this.payload = Math.min(h.maxPayload, this.options.mtu - 3);
    this.send({
      type: FrameType.WELCOME,
      stream: 0,
      seq: this.nextSeq(),
      protoMajor: PROTOCOL_MAJOR,
      protoMinor: PROTOCOL_MINOR,
      payloadSize: this.payload,
      codec: Codec.PCM_U8,
      sampleRate: this.options.sampleRate ?? h.sampleRate,
      keepAliveMs: 0,
      nonce: 0x12345678,
    });
  }

  /**
   * Acknowledge like the bridge does (host/src/pipeline/reassemble.ts): an ACK every 8 frames, a NACK
   * as soon as a gap opens or END arrives with holes, and the current ACK/NACK again every 150 ms
   * while the stream is incomplete.
   */
  ackAll(): void {
    const now = this.earbud.now;
    for (const [stream, st] of this.streams) {
      const periodic = !st.r.complete && now - st.lastAckAt >= 150 && (st.dirty || st.r.gaps(1).length > 0);
      if (!(st.urgent || st.sinceAck >= 8 || periodic || (st.r.complete && st.dirty))) continue;
      st.dirty = false;
      st.urgent = false;
      st.sinceAck = 0;
      st.lastAckAt = now;
      const ack = st.r.buildAck(stream, this.nextSeq(), this.payload);
      if (ack.type === FrameType.NACK) this.nacksSent++;
      else this.acksSent++;
      this.send(ack);
      if (st.r.complete && st.wake) {
        this.finished.push(this.toUtterance(stream, st));
        this.streams.delete(stream);
      }
    }
  }

  /** Run a virtual-clock earbud for `ms`, acknowledging every `stepMs` like a real host. */
  run(ms: number, stepMs = 20): void {
    const advance = this.earbud.advance;
    if (!advance) throw new Error('run() needs a virtual clock: use runFor() with this earbud');
    for (let t = 0; t < ms; t += stepMs) {
      advance.call(this.earbud, Math.min(stepMs, ms - t));
      this.ackAll();
    }
  }

  /** Let `ms` of device time pass on either engine, acknowledging every `stepMs`. */
  async runFor(ms: number, stepMs = 20): Promise<void> {
    const end = this.earbud.now + ms;
    while (this.earbud.now < end) {
      await this.earbud.wait(Math.min(stepMs, end - this.earbud.now));
      this.ackAll();
    }
  }

  /** Completed utterances (END received and every frame before it). */
  utterances(): Utterance[] {
    return this.finished.slice();
  }

  /** Streams still open (incomplete). */
  openStreams(): Utterance[] {
    return [...this.streams].map(([s, st]) => this.toUtterance(s, st));
  }

  framesOfType(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  private toUtterance(stream: number, st: StreamState): Utterance {
    const n = st.chunks.reduce((a, c) => a + c.length, 0);
    const audio = new Uint8Array(n);
    let o = 0;
    for (const c of st.chunks) {
      audio.set(c, o);
      o += c.length;
    }
    return { stream, wake: st.wake!, audio, end: st.end, duplicates: st.duplicates, complete: st.r.complete };
  }
}

function copyFrame(f: Frame): Frame {
  if (f.type === FrameType.AUDIO) return { ...f, samples: new Uint8Array(f.samples) };
  return f;
}

/** Index of `needle` inside `hay`, or -1. */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return from;
  const first = needle[0]!;
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    if (hay[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Deterministic noise: 16-bit samples, uniform in ±amplitude (mulberry32). */
export function noise(n: number, amplitude: number, seed: number): Int16Array {
  let a = seed >>> 0;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = Math.round((r * 2 - 1) * amplitude);
  }
  return out;
}
