/**
 * The one scripted earbud of the tests and benches: the protocol side of an earbud without its
 * firmware (8-bit PCM at 8 kHz), whatever carries its frames: a fake Connection (ScriptedConnection:
 * the session suites, host.bench), a SimPeripheral behind the in-process link (ScriptedPeripheral:
 * voice.bench), or the test's own connection double.
 *
 * It follows the device rules of docs/PROTOCOL.md §6 (the reference firmware's Uplink): it holds
 * every utterance frame sent until an ACK covers it, re-sends NACKed frames it still holds, answers
 * GATE REJECT / CANCEL while capturing with END (HOST / CANCELLED), re-sends its newest held frame
 * when told its RTO expired, and refuses a new wake while the previous stream is unfinished (END
 * not yet acknowledged). With `instantSpeaker` its speaker plays at once: every PLAY and PLAY_END is
 * answered with its CREDIT.
 */
import { EMPTY, Subject } from 'rxjs';
import {
  Codec,
  DOWNLINK_UUID,
  EndReason,
  FrameType,
  SERVICE_UUID,
  Trigger,
  UPLINK_UUID,
  Verdict,
  decodeFrame,
  encodeFrame,
  seqDiff,
  type AudioFrame,
  type CreditFrame,
  type EndFrame,
  type EndReasonCode,
  type Frame,
  type HelloFrame,
  type WakeFrame,
} from '@budlink/protocol';
import type {
  SimCentral,
  SimPeripheral,
  SimService,
  Connection,
  DisconnectReason,
  LocalDisconnect,
} from '@budlink/link';

type UtteranceFrame = WakeFrame | AudioFrame | EndFrame;

export interface ScriptedEarbudOptions {
  /** Largest frame payload it takes (HELLO.maxPayload). */
  maxPayload: number;
  /** HELLO.nonce (default 1). */
  nonce?: number;
  /** Answer PLAY / PLAY_END with CREDIT at once (default false: the test grants credit). */
  instantSpeaker?: boolean;
  /**
   * Hold sent frames for re-sending until ACKed (default true). Off for benchmarks that measure the
   * host alone: the earbud then forgets each frame as it sends it, and every wake is accepted.
   */
  ring?: boolean;
}

export function helloFrame(maxPayload: number, nonce: number): HelloFrame {
  return {
    type: FrameType.HELLO,
    stream: 0,
    seq: 0,
    protoMajor: 1,
    protoMinor: 0,
    capabilities: 0x0f,
    codecs: Codec.PCM_U8,
    sampleRate: 8000,
    maxPayload,
    ringFrames: 64,
    nonce,
    board: 'bench',
  };
}

/** The WAKE opening an utterance started by a tap. */
export function tapWakeFrame(stream: number): WakeFrame {
  return {
    type: FrameType.WAKE,
    stream,
    seq: 0,
    trigger: Trigger.TAP,
    score: 255,
    codec: Codec.PCM_U8,
    sampleRate: 8000,
    preRollMs: 0,
    wakeStart: 0,
    wakeEnd: 0,
  };
}

function credit(stream: number, seq: number, playedSamples: number): CreditFrame {
  return {
    type: FrameType.CREDIT,
    stream,
    seq: 0,
    upTo: (seq + 16) & 0xffff,
    freeBytes: 4000,
    playedSamples,
  };
}

export class ScriptedEarbud {
  /** The current (or last) utterance stream. */
  stream = 0;
  /** A stream is being sent or awaits its acknowledgements. */
  active = false;
  capturing = false;
  /** The host answered HELLO. */
  welcomed = false;
  private seq = 0;
  private samples = 0;
  private endSent = false;
  private readonly held = new Map<number, UtteranceFrame>();
  private readonly played = new Map<number, number>();

  constructor(
    /** Sends a frame to the host. */
    readonly send: (frame: Frame) => void,
    readonly options: ScriptedEarbudOptions,
  ) {}

  hello(): void {
    this.send(helloFrame(this.options.maxPayload, this.options.nonce ?? 1));
  }

  /** Open a new utterance stream (the next id, or `stream`); false while the last one is unfinished. */
  wake(stream = (this.stream % 255) + 1): boolean {
    if (this.active) return false;
    this.stream = stream;
    this.seq = 0;
    this.samples = 0;
    this.endSent = false;
    this.held.clear();
    this.active = this.options.ring !== false;
    this.capturing = true;
    this.emit(tapWakeFrame(this.stream));
    this.seq = 1;
    return true;
  }

  /** The next AUDIO frame; `lost`: dropped on air; `evicted`: also dropped from the device's ring. */
  audio(samples: Uint8Array, how: { lost?: boolean; evicted?: boolean } = {}): void {
    const f: AudioFrame = { type: FrameType.AUDIO, stream: this.stream, seq: this.seq, samples };
    this.seq = (this.seq + 1) & 0xffff;
    this.samples += samples.length;
    if (!how.evicted) this.hold(f);
    if (!how.lost && !how.evicted) this.send(f);
  }

  end(reason: EndReasonCode = EndReason.SILENCE): EndFrame {
    const f: EndFrame = {
      type: FrameType.END,
      stream: this.stream,
      seq: this.seq,
      reason,
      lastSeq: (this.seq - 1) & 0xffff,
      totalSamples: this.samples,
    };
    this.capturing = false;
    this.endSent = true;
    this.emit(f);
    this.seq = (this.seq + 1) & 0xffff;
    return f;
  }

  /** A whole utterance: WAKE, one AUDIO frame per chunk, END; returns its stream. */
  utterance(chunks: Iterable<Uint8Array>, stream?: number): number {
    if (!this.wake(stream)) throw new Error(`scripted earbud: stream ${this.stream} is unfinished`);
    for (const c of chunks) this.audio(c);
    this.end();
    return this.stream;
  }

  /** The re-send timer expired: the newest held frame again (a lost tail or END). */
  rto(): void {
    let newest: UtteranceFrame | undefined;
    for (const f of this.held.values()) if (!newest || seqDiff(f.seq, newest.seq) > 0) newest = f;
    if (newest) this.send(newest);
  }

  /** A frame the host wrote. */
  hear(f: Frame): void {
    if (f.type === FrameType.WELCOME) this.welcomed = true;
    else if (
      (f.type === FrameType.ACK || f.type === FrameType.NACK) &&
      this.active &&
      f.stream === this.stream
    ) {
      this.acknowledged(f.type === FrameType.NACK, f.cumulative, f.gaps);
    } else if (f.type === FrameType.GATE && f.stream === this.stream && this.capturing) {
      if (f.verdict !== Verdict.ACCEPT)
        this.end(f.verdict === Verdict.CANCEL ? EndReason.CANCELLED : EndReason.HOST);
    } else if (this.options.instantSpeaker && f.type === FrameType.PLAY) {
      const n = (this.played.get(f.stream) ?? 0) + f.samples.length;
      this.played.set(f.stream, n);
      this.send(credit(f.stream, f.seq, n));
    } else if (this.options.instantSpeaker && f.type === FrameType.PLAY_END) {
      this.played.delete(f.stream);
      this.send(credit(f.stream, f.seq, f.totalSamples));
    }
  }

  private acknowledged(
    nack: boolean,
    cumulative: number,
    gaps: Array<{ start: number; count: number }>,
  ): void {
    const last = gaps.at(-1);
    const known = last ? (last.start + last.count) & 0xffff : cumulative;
    const inGap = (s: number) => gaps.some((g) => seqDiff(s, g.start) >= 0 && seqDiff(s, g.start) < g.count);
    for (const s of [...this.held.keys()]) if (seqDiff(s, known) < 0 && !inGap(s)) this.held.delete(s);
    if (nack) {
      for (const g of gaps)
        for (let i = 0; i < g.count; i++) {
          const again = this.held.get((g.start + i) & 0xffff);
          if (again) this.send(again);
        }
    }
    if (this.endSent && this.held.size === 0) this.active = false;
  }

  private hold(f: UtteranceFrame): void {
    if (this.options.ring !== false) this.held.set(f.seq, f);
  }

  private emit(f: UtteranceFrame): void {
    this.hold(f);
    this.send(f);
  }
}

/** Encodes a frame for a payload size; a frame that does not fit is a bug of the script. */
function encoded(frame: Frame, payload: number): Uint8Array {
  const r = encodeFrame(frame, payload);
  if (!r.ok) throw new Error(`scripted earbud: ${r.error.message}`);
  return r.bytes;
}

/** Decodes what the host wrote; a frame that does not decode is a host bug. */
function decoded(bytes: Uint8Array): Frame {
  const r = decodeFrame(bytes);
  if (!r.ok) throw new Error(`host wrote a bad frame: ${r.error.message}`);
  return r.frame;
}

/** The scripted earbud behind a fake Connection: its frames arrive on frames$, the host's are heard. */
export class ScriptedConnection implements Connection {
  readonly device: { id: string; address: string; name: string };
  readonly payloadSize: number;
  readonly frames$ = new Subject<Uint8Array>();
  readonly console$ = EMPTY;
  readonly closed$ = new Subject<DisconnectReason>();
  readonly earbud: ScriptedEarbud;
  /** Frames the host wrote (counted, not kept: soaks run for hours). */
  written = 0;

  constructor(options: ScriptedEarbudOptions & { address?: string }) {
    const address = options.address ?? 'BE:NC:H0:00:00:01';
    this.device = { id: address, address, name: 'bench' };
    this.payloadSize = options.maxPayload;
    this.earbud = new ScriptedEarbud((f) => this.frames$.next(encoded(f, options.maxPayload)), options);
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.written++;
    this.earbud.hear(decoded(bytes));
  }

  async disconnect(reason: LocalDisconnect = 'local'): Promise<void> {
    this.closed$.next(reason);
    this.closed$.complete();
  }
}

/**
 * The scripted earbud as a SimPeripheral, so the real InProcessLink carries it: HELLO follows the
 * connection (as on the device: the central subscribes first); `onHostFrame` sees each frame the host
 * writes before the earbud does (benchmarks time them).
 */
export class ScriptedPeripheral implements SimPeripheral {
  readonly name = 'bench earbud';
  readonly earbud: ScriptedEarbud;
  private central: SimCentral | null = null;

  constructor(
    readonly address: string,
    options: ScriptedEarbudOptions,
    private readonly onHostFrame: (f: Frame) => void = () => undefined,
  ) {
    this.earbud = new ScriptedEarbud(
      (f) => this.central?.onNotify(UPLINK_UUID, encoded(f, options.maxPayload)),
      options,
    );
  }

  get connected(): boolean {
    return this.central !== null;
  }

  advertisedServices(): string[] {
    return [SERVICE_UUID];
  }

  services(): SimService[] {
    return [
      {
        uuid: SERVICE_UUID,
        characteristics: [
          { uuid: UPLINK_UUID, flags: ['notify'] },
          { uuid: DOWNLINK_UUID, flags: ['write-without-response'] },
        ],
      },
    ];
  }

  connect(central: SimCentral): void {
    this.central = central;
    setTimeout(() => this.earbud.hello(), 1);
  }

  disconnect(): void {
    this.central = null;
  }

  read(): Uint8Array {
    return new Uint8Array(0);
  }

  write(_uuid: string, bytes: Uint8Array): void {
    const f = decoded(bytes);
    this.onHostFrame(f);
    this.earbud.hear(f);
  }
}
