/**
 * A minimal host side of the Budlink protocol for driving the simulated earbud from tests and benches
 * (not the bridge: see host/src/pipeline): answers HELLO with WELCOME, receives utterance streams with
 * the bridge's own receiver and ACK policy (@budlink/protocol/receiver: ACK every 8 frames, NACK at
 * once on a gap or an END with holes, the current ACK/NACK again every 150 ms without news, one final
 * ACK when a stream ends), collects every frame. What the receiver asks to send is written at the next
 * step (ackAll), outside the earbud's notify handler.
 */
import {
  Codec,
  FrameType,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  UPLINK_UUID,
  DOWNLINK_UUID,
  decodeFrame,
  encodeFrame,
} from '@budlink/protocol';
import type { AckFrame, Frame, HelloFrame, WakeFrame, EndFrame } from '@budlink/protocol';
import { UtteranceReceiver, type ReceiverOutput } from '@budlink/protocol/receiver';
import { mulberry32 } from '@budlink/protocol/audio';
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

/** The bridge's periodic ACK/NACK interval and ACK cadence (host/src/defaults.ts SESSION_DEFAULTS). */
const NACK_INTERVAL_MS = 150;
const ACK_EVERY_FRAMES = 8;

export class SimHost {
  hello: HelloFrame | null = null;
  readonly frames: Frame[] = [];
  readonly undecodable: Uint8Array[] = [];
  readonly consoleText: string[] = [];
  disconnected: string | null = null;
  payload = 20;
  private readonly receiver = new UtteranceReceiver(
    {
      payloadSize: () => this.payload,
      window: () => Math.max(1, this.hello?.ringFrames ?? 64),
      ackEveryFrames: ACK_EVERY_FRAMES,
    },
    (o) => this.received(o),
  );
  /** ACK/NACK frames the receiver asked for, written at the next step. */
  private readonly outbox: AckFrame[] = [];
  private lastTick = 0;
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
      this.receiver.frame(f, this.earbud.now); // decoded from a copy of the notification: its own bytes
    }
  }

  private received(o: ReceiverOutput): void {
    if (o.kind === 'send') this.outbox.push(o.frame);
    else if (o.kind === 'complete') {
      const u = o.utterance;
      this.finished.push({
        stream: u.stream,
        wake: u.wake,
        audio: u.samples,
        end: u.end,
        duplicates: u.duplicates,
        complete: u.lost === 0,
      });
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
   * Write what the receiver asked for (the bridge writes it at once; here it waits for the step), and
   * run its periodic check every NACK_INTERVAL_MS of device time.
   */
  ackAll(): void {
    const now = this.earbud.now;
    if (now - this.lastTick >= NACK_INTERVAL_MS) {
      this.lastTick = now;
      this.receiver.tick();
    }
    for (const f of this.outbox.splice(0)) {
      const ack = { ...f, seq: this.nextSeq() };
      if (ack.type === FrameType.NACK) this.nacksSent++;
      else this.acksSent++;
      this.send(ack);
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

  /** The stream still being received, as far as it got (empty: none). */
  openStreams(): Utterance[] {
    const c = this.receiver.current();
    if (!c || !c.wake) return [];
    return [
      {
        stream: c.stream,
        wake: c.wake,
        audio: c.samples,
        end: c.end ?? null,
        duplicates: c.duplicates,
        complete: false,
      },
    ];
  }

  framesOfType(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }
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
  const rand = mulberry32(seed);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round((rand() * 2 - 1) * amplitude);
  return out;
}
