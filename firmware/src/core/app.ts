/**
 * The earbud program: wires the HAL to the VAD, the wake gate, the sample ring, the uplink sender,
 * playback and configuration, and speaks the Budlink protocol (docs/FIRMWARE.md §Behaviour).
 *
 * Every hardware event reaches the App through the HAL, which catches what a handler throws and
 * reports it here (`fail`: counted, ERROR INTERNAL); timers enter through `timer()`, which does the
 * same. Nothing from the air throws.
 *
 * Memory (measured on the real interpreter, docs/FIRMWARE.md §Memory): every method costs ~5 JsVars
 * plus one per parameter for the program's lifetime, so the App is the one event sink of the HAL
 * (HalSink), the gate (GateEvents) and playback (PlaybackPorts), frames are built in place with
 * `frame`/`put` rather than through a codec, and timers share one entry point.
 */
import {
  AssistantState,
  Capability,
  Codec,
  ConfigOp,
  EndReason,
  ErrorCode,
  Fault,
  FrameType,
  MIN_PAYLOAD,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  Verdict,
} from '@budlink/protocol';
import type {
  ConfigFrame,
  EndReasonCode,
  ErrorCodeValue,
  FaultCode,
  Frame,
  PlayEndFrame,
  ProtocolError,
  WelcomeFrame,
} from '@budlink/protocol';
import { drainPerSecond } from '../../boards/index';
import type { BoardProfile } from '../../boards/index';
import type { Hal, HalSink } from '../hal/types';
import { CONFIG_FILE, checkValue, decodeValue, encodeValue, fieldOf, loadConfig } from './config';
import type { Config } from './config';
import { Gate, VadWakeDetector } from './gate';
import type { GateEvents, WakeDetector, WakeHit } from './gate';
import { Playback } from './playback';
import type { PlaybackPorts } from './playback';
import { SampleRing } from './ring';
import { Uplink } from './uplink';
import { Vad } from './vad';
import { CONTROL_QUEUE, ECHO_BIAS, IDLE_TICK_MS, TIMING, minSpeechSamples } from './behaviour';
import type { AppCounters } from './behaviour';
import { NO_GAPS, decodeDown, frame, put } from './wire';

/** What a timer of the App does (`timer(what)`). */
const TICK = 0;
const HELLO_AGAIN = 1;
const STATUS = 2;

export class App implements HalSink, GateEvents, PlaybackPorts {
  readonly board: BoardProfile;
  readonly hal: Hal;
  config: Config;
  readonly ring: SampleRing;
  readonly vad: Vad;
  readonly gate: Gate;
  readonly uplink: Uplink;
  readonly playback: Playback;
  readonly detector: WakeDetector;
  counters: AppCounters = { overruns: 0, errors: 0, refused: 0, controlDropped: 0, notifyFailed: 0 };
  connected = false;
  welcomed = false;
  /** Negotiated whole-frame size (MIN_PAYLOAD until WELCOME). */
  payload = MIN_PAYLOAD;
  /** Playback rate from WELCOME. */
  playRate: number;
  /** Assistant state shown on the LEDs. */
  shownState = -1;
  private control: Uint8Array[] = [];
  /** Frames in `control` (an array's length or a missing element costs ~12k x86 instructions on Espruino: pace() reads this). */
  private queued = 0;
  private msgSeq = 0;
  private helloLeft = 0;
  private nonce: number;
  private bootMs: number;
  private lastBufAt = 0;
  /** Mic buffer period and the gap (1.5 periods) past which buffers were lost. */
  private periodMs = 64;
  private lateMs = 96;
  private downAt = -1;
  private micError: string | null = null;
  /** Pacer bucket: tokens (free TX slots) at `tokenAt`, refilled at `drainPerMs`. */
  private tokens = 0;
  private tokenAt = 0;
  private drainPerMs: number;
  /** pacing.burst: the bucket's depth. */
  private burst: number;
  /** pace() bound to this App: the pacer's timer calls it directly (an arrow calling it costs a call more). */
  private tick: () => void;
  /** The pacer's interval timer and whether it runs at the idle period. */
  private tickId = -1;
  private tickSlow = false;

  constructor(board: BoardProfile, hal: Hal, detector?: WakeDetector) {
    this.board = board;
    this.hal = hal;
    hal.attach(this);
    const loaded = loadConfig(board, hal.load(CONFIG_FILE));
    const cfg = loaded.config;
    this.config = cfg;
    this.counters.errors = loaded.rejected;
    this.playRate = cfg.sampleRate;
    this.drainPerMs = drainPerSecond(board) / 1000;
    this.burst = board.pacing.burst;
    this.tick = this.pace.bind(this);
    this.nonce = hal.random32();
    this.bootMs = hal.now();
    this.ring = new SampleRing(board.ringBytes);
    this.vad = new Vad(hal, { threshold: cfg.vadThreshold, minEnergy: 4, initialFloor: 4 });
    this.detector = detector || new VadWakeDetector(minSpeechSamples(cfg.wakeSensitivity, cfg.sampleRate));
    this.uplink = new Uplink(this.ring, board.ringFrames, MIN_PAYLOAD, cfg.sampleRate, {
      rtoMs: TIMING.rtoMs,
      giveUpMs: TIMING.giveUpMs,
      evictBacklog: board.ringBytes - 2 * board.bufferSamples,
    });
    this.gate = new Gate(
      this.detector,
      {
        rate: cfg.sampleRate,
        hangoverMs: cfg.hangoverMs,
        maxUtteranceMs: cfg.maxUtteranceMs,
        candidateQuietBuffers: 3,
      },
      this,
    );
    this.playback = new Playback(board.playbackBytes, MIN_PAYLOAD, hal, this);
    this.playback.setVolume(cfg.volume);
  }

  /** Start everything: BLE, button, microphone, pacer, status, watchdog. */
  boot(): void {
    const hal = this.hal;
    hal.startBle(this.config.name, this.board.maxPayload);
    hal.watchButton();
    this.startMic();
    this.setTick(false);
    hal.setInterval(() => this.timer(STATUS), TIMING.statusMs);
    hal.watchdog(TIMING.watchdogS);
    this.showState(AssistantState.IDLE);
  }

  /** HalSink: count and report a caught handler error (ERROR INTERNAL + a console line). */
  fail(where: string, e: unknown): void {
    this.counters.errors++;
    const msg = e instanceof Error ? e.message : String(e);
    this.hal.log('budlink ' + where + ': ' + msg);
    try {
      this.sendError(ErrorCode.INTERNAL, Fault.INTERNAL, 0, where + ': ' + msg);
    } catch {
      // Reporting failed too (e.g. out of memory): the counter above still records it.
    }
  }

  /** Every timer of the App but the pacer's (which guards itself: pace()) enters here, guarded like the HAL's events. */
  timer(what: number): void {
    if (what === TICK) return this.pace();
    try {
      if (!this.connected) return;
      if (what === HELLO_AGAIN) {
        if (!this.welcomed) this.sendHello();
      } else if (this.welcomed) this.sendStatus();
    } catch (e) {
      this.fail(what === HELLO_AGAIN ? 'hello' : 'status', e);
    }
  }

  // ---- audio in ------------------------------------------------------------------------------

  /**
   * HalSink: a mic buffer (`now`: when it arrived): overrun check, ring, VAD, gate. A handful of
   * statements and three natives per buffer: this runs ~8 times a second whatever the device does, and
   * on the real interpreter each statement costs ~5–8k x86 instructions (`buf.length` alone ~12k, so it
   * is read once and passed on).
   */
  onMic(buf: Uint8Array, now: number): void {
    const dt = now - this.lastBufAt;
    this.lastBufAt = now;
    if (dt > this.lateMs) this.counters.overruns += Math.round(dt / this.periodMs) - 1;
    const n = buf.length;
    const ring = this.ring;
    const up = this.uplink;
    // keep() only protects samples once capture has ended (Uplink.keep)
    ring.write(buf, up.endAt < 0 ? -1 : up.keep(), n);
    this.gate.onBuffer(buf, this.vad.process(buf, n), ring.written, n);
  }

  private startMic(): void {
    this.periodMs = (this.board.bufferSamples * 1000) / this.config.sampleRate;
    this.lateMs = this.periodMs * 1.5;
    this.lastBufAt = this.hal.now();
    this.micError = this.hal.startMic(this.config.sampleRate, this.board.bufferSamples);
    if (this.micError) {
      this.counters.errors++;
      this.hal.log('budlink mic: ' + this.micError);
    } else this.ring.alloc();
  }

  /** GateEvents: the gate opened (false refuses: not welcomed, or the previous stream is in flight). */
  onWake(hit: WakeHit): boolean {
    if (!this.welcomed || this.uplink.active) return false;
    // Barge-in: a wake or tap while the reply plays stops it at once.
    if (this.playback.busy()) this.playback.cancel();
    if (!this.uplink.start(hit, this.config.preRollMs, this.hal.now())) return false;
    // Send the WAKE and the first frames right after this handler rather than at the next tick (the
    // pre-roll backlog is at its largest now), as a job of their own so the mic handler stays short.
    if (this.tickSlow) this.setTick(false);
    this.hal.setTimeout(this.tick, 0);
    this.showState(AssistantState.LISTENING);
    return true;
  }

  /** GateEvents: the utterance ends at absolute sample `end`. */
  onEnd(reason: EndReasonCode, end: number): void {
    this.uplink.finish(reason, end);
    this.showState(AssistantState.VERIFYING);
  }

  /** HalSink: a press shorter than TIMING.tapMs is a tap: barge-in, then open (or end) an utterance. */
  onButton(down: boolean, t: number): void {
    if (down) {
      this.downAt = t;
      return;
    }
    if (this.downAt >= 0 && t - this.downAt < TIMING.tapMs) {
      if (this.playback.busy()) this.playback.cancel();
      this.gate.tap();
    }
    this.downAt = -1;
  }

  // ---- audio out -----------------------------------------------------------------------------

  /** HalSink: an output buffer finished playing: refill it. */
  onSpeaker(buf: Uint8Array): void {
    this.playback.fill(buf);
  }

  /** PlaybackPorts: the speaker stops (reply complete or barge-in). */
  stopOutput(): void {
    this.vad.bias = 1;
    this.hal.stopSpeaker();
    if (this.shownState === AssistantState.SPEAKING) this.showState(AssistantState.IDLE);
  }

  /** PlaybackPorts: start the speaker (it calls playback.fill per buffer). */
  startOutput(): string | null {
    if (!this.board.speaker) return 'no speaker on ' + this.board.id;
    this.showState(AssistantState.SPEAKING);
    this.vad.bias = ECHO_BIAS;
    return this.hal.startSpeaker(this.playRate, this.board.playbackBufferSamples);
  }

  // ---- link ----------------------------------------------------------------------------------

  /** HalSink: a central connected. */
  onConnect(): void {
    this.connected = true;
    this.welcomed = false;
    this.setPayload(MIN_PAYLOAD);
    this.control = [];
    this.queued = 0;
    // The nonce says what the device kept (PROTOCOL.md §5): the previous one while an utterance stream
    // is still unfinished (the host keeps reassembling it and the stream resumes after WELCOME), a new
    // one otherwise.
    if (!this.uplink.active) this.nonce = this.hal.random32();
    this.helloLeft = TIMING.helloTries;
    this.sendHello();
  }

  /**
   * HalSink: the central disconnected. The utterance survives the link (PROTOCOL.md §5): capture goes
   * on into the ring and the window keeps its frames until resume() after the next WELCOME. A reply
   * does not: the speaker stops now and the CREDIT after the next WELCOME reports that stream's
   * playedSamples, as after a barge-in.
   */
  onDisconnect(): void {
    this.connected = false;
    this.welcomed = false;
    this.uplink.suspend();
    if (this.playback.busy()) {
      this.playback.cancel();
      this.hal.log('budlink: link lost, reply ' + this.playback.stream + ' cut at ' + this.playback.played);
    } else this.playback.reset();
    this.control = [];
    this.queued = 0;
    if (!this.uplink.active) this.showState(AssistantState.IDLE);
  }

  private setPayload(p: number): void {
    this.payload = p;
    this.uplink.payload = p;
    this.playback.payload = p;
  }

  /** HELLO: set as the uplink's readable value (a long read gets all of it) and notified. */
  private sendHello(): void {
    this.helloLeft--;
    const b = this.board;
    const id = b.id;
    let caps = Capability.TAP | Capability.VAD | Capability.BATTERY | Capability.CONFIG_STORE;
    if (b.speaker) caps |= Capability.PLAYBACK;
    if (b.mic.source === 'pdm') caps |= Capability.PDM_MIC;
    const f = frame(19 + id.length, FrameType.HELLO, 0, 0);
    f[4] = PROTOCOL_MAJOR;
    f[5] = PROTOCOL_MINOR;
    put(f, 6, caps, 2);
    f[8] = Codec.PCM_U8;
    put(f, 9, this.config.sampleRate, 2);
    put(f, 11, b.maxPayload, 2);
    put(f, 13, b.ringFrames, 2);
    put(f, 15, this.nonce, 4);
    for (let i = 0; i < id.length; i++) f[19 + i] = id.charCodeAt(i);
    this.hal.setValue(f);
    this.enqueue(f);
    if (this.helloLeft > 0) this.hal.setTimeout(() => this.timer(HELLO_AGAIN), TIMING.helloMs);
  }

  /**
   * Pacer: a token bucket on the clock. Tokens (free TX-queue slots) refill at the link's drain rate by
   * the time elapsed since the last tick, up to `pacing.burst`; each notification takes one. Control
   * frames go first, then the utterance. Two ticks run back to back (after a long job) get only the
   * tokens the link drained in between, so the stack's queue never overflows.
   *
   * Guarded like the HAL's events. While streaming this runs ~28 times a second: the common case (the
   * utterance alone, nothing else queued) is a few statements here and Uplink.pump(); the rest is in
   * paceMore().
   */
  private pace(): void {
    try {
      const hal = this.hal;
      hal.kick();
      const now = hal.now();
      // A clock set backwards (setTime) refills nothing rather than stalling the pacer.
      let t = now > this.tokenAt ? this.tokens + (now - this.tokenAt) * this.drainPerMs : this.tokens;
      if (t > this.burst) t = this.burst;
      this.tokenAt = now;
      const up = this.uplink;
      t = this.welcomed && up.active && !this.queued ? up.pump(now, t, hal) : this.paceMore(now, t);
      if (t < 0) {
        this.counters.notifyFailed++;
        t = 0;
      }
      this.tokens = t;
    } catch (e) {
      this.fail('tick', e);
    }
  }

  /** pace() with control frames queued, before WELCOME, or with nothing to send. */
  private paceMore(now: number, t: number): number {
    const hal = this.hal;
    const up = this.uplink;
    const q = this.control;
    if (!this.connected || !(q.length || up.active)) {
      if (this.shownState === AssistantState.LISTENING) this.showState(AssistantState.IDLE);
      // Nothing to send: tick slowly (it still kicks the watchdog) until a frame is queued or a stream starts.
      if (!this.tickSlow) this.setTick(true);
      return t;
    }
    for (; t >= 1 && q.length; t--) {
      this.queued--;
      if (!hal.notify(q.shift() as Uint8Array)) {
        this.counters.notifyFailed++;
        t = 0;
      }
    }
    return this.welcomed && t >= 1 ? up.pump(now, t, hal) : t;
  }

  /** Run the pacer every `pacing.tickMs` (work to send) or every IDLE_TICK_MS (nothing to send). */
  private setTick(slow: boolean): void {
    const hal = this.hal;
    if (this.tickId >= 0) hal.clearInterval(this.tickId);
    this.tickSlow = slow;
    this.tickId = hal.setInterval(this.tick, slow ? IDLE_TICK_MS : this.board.pacing.tickMs);
  }

  private enqueue(bytes: Uint8Array): void {
    if (!this.connected) return;
    if (this.tickSlow) this.setTick(false);
    if (this.control.length >= CONTROL_QUEUE) {
      this.control.shift();
      this.counters.controlDropped++;
    } else this.queued++;
    this.control.push(bytes);
  }

  /** PlaybackPorts: queue an encoded control frame, stamping the next message seq. */
  sendRaw(bytes: Uint8Array): void {
    const s = this.msgSeq;
    this.msgSeq = (s + 1) & 0xffff;
    bytes[2] = s;
    bytes[3] = s >> 8;
    this.enqueue(bytes);
  }

  /** ERROR with `message` cut to the payload and made printable. */
  sendError(code: ErrorCodeValue, fault: FaultCode, refType: number, message: string): void {
    let n = message.length;
    if (n > this.payload - 7) n = this.payload - 7;
    const b = frame(7 + n, FrameType.ERROR, 0, 0);
    b[4] = code;
    b[5] = fault;
    b[6] = refType;
    for (let i = 0; i < n; i++) {
      const c = message.charCodeAt(i);
      b[7 + i] = c >= 0x20 && c <= 0x7e ? c : 0x3f;
    }
    this.sendRaw(b);
  }

  private refuse(code: ErrorCodeValue, refType: number, message: string): void {
    this.counters.refused++;
    this.sendError(code, Fault.PEER, refType, message);
  }

  /**
   * HalSink: one frame written by the host to the downlink characteristic. The frame the host sends
   * most (one per few AUDIO frames while streaming), a plain ACK, is decided here without a frame
   * object; everything else goes to onFrame() (a function's whole text is read each time it runs).
   */
  onWrite(bytes: Uint8Array): void {
    if (bytes[0] === FrameType.ACK && bytes[6] === 0 && this.welcomed && bytes.length === 7)
      this.uplink.onAck(
        bytes[1] as number,
        (bytes[4] as number) | ((bytes[5] as number) << 8),
        NO_GAPS,
        false,
        this.hal.now(),
      );
    else this.onFrame(bytes);
  }

  /** onWrite() for every frame but a plain ACK while welcomed: PLAY first, then the decoder. */
  private onFrame(bytes: Uint8Array): void {
    const now = this.hal.now();
    if (
      bytes[0] === FrameType.PLAY &&
      this.welcomed &&
      bytes.length >= 4 &&
      bytes.length <= this.board.maxPayload &&
      this.board.speaker
    ) {
      const err = this.playback.onPlay(
        bytes[1] as number,
        (bytes[2] as number) | ((bytes[3] as number) << 8),
        bytes.subarray(4),
      );
      if (err) this.refuse(ErrorCode.OVERFLOW, FrameType.PLAY, err);
      return;
    }
    const r = decodeDown(bytes, this.board.maxPayload);
    if ((r as Frame).type === undefined) {
      const e = r as ProtocolError;
      this.counters.refused++;
      // Never answer an ERROR with ERROR, valid or not (no loops: docs/PROTOCOL.md §8).
      if (bytes[0] !== FrameType.ERROR)
        this.sendError(e.code, e.fault, bytes.length ? (bytes[0] as number) : 0, e.message);
      return;
    }
    const f = r as Frame;
    const t = f.type;
    if (t === FrameType.WELCOME) return this.onWelcome(f);
    if (t === FrameType.PING) {
      const b = frame(8, FrameType.PONG, 0, 0);
      put(b, 4, f.token, 4);
      return this.sendRaw(b);
    }
    if (t === FrameType.CONFIG) return this.onConfig(f);
    if (t === FrameType.STATE) return this.showState(f.state);
    if (t === FrameType.ERROR) return this.hal.log('budlink host error ' + f.code + ': ' + f.message);
    if (!this.welcomed) return this.refuse(ErrorCode.BAD_STATE, t, 'before WELCOME');
    if (t === FrameType.ACK || t === FrameType.NACK)
      return this.uplink.onAck(f.stream, f.cumulative, f.gaps, t === FrameType.NACK, now);
    if (t === FrameType.GATE) {
      if (f.stream === this.uplink.stream && f.verdict !== Verdict.ACCEPT)
        this.gate.stop(f.verdict === Verdict.CANCEL ? EndReason.CANCELLED : EndReason.HOST);
      return;
    }
    // PLAY (not welcomed yet is refused above; a board without a speaker lands here) or PLAY_END
    if (!this.board.speaker) return this.refuse(ErrorCode.BAD_STATE, t, 'no speaker');
    const err =
      f.type === FrameType.PLAY
        ? this.playback.onPlay(f.stream, f.seq, f.samples)
        : this.playback.onPlayEnd(f as PlayEndFrame);
    if (err) this.refuse(ErrorCode.OVERFLOW, t, err);
    if (!this.playback.busy() && this.shownState === AssistantState.SPEAKING)
      this.showState(AssistantState.IDLE);
  }

  /** WELCOME: payload size, playback rate; answered with CREDIT then STATUS. A second one renegotiates. */
  private onWelcome(f: WelcomeFrame): void {
    const t = FrameType.WELCOME;
    if (f.protoMajor !== PROTOCOL_MAJOR) {
      this.counters.refused++;
      this.sendError(ErrorCode.UNSUPPORTED_VERSION, Fault.UNSUPPORTED, t, 'major ' + f.protoMajor);
      return;
    }
    if (f.codec !== Codec.PCM_U8) return this.refuse(ErrorCode.BAD_FIELD, t, 'codec ' + f.codec);
    const max = this.board.maxPayload;
    this.setPayload(f.payloadSize < max ? f.payloadSize : max);
    this.playRate = f.sampleRate;
    // First WELCOME of a reconnect with an utterance in flight: continue it. Audio lost while the link
    // was down ends it (END reason ERROR; the gate stops capturing).
    const lost = !this.welcomed && this.uplink.resume(this.hal.now());
    this.welcomed = true;
    if (lost) this.gate.stop(EndReason.ERROR);
    this.playback.sendCredit();
    this.sendStatus();
    if (this.micError) this.sendError(ErrorCode.INTERNAL, Fault.UNSUPPORTED, 0, 'mic: ' + this.micError);
  }

  private onConfig(f: ConfigFrame): void {
    const t = FrameType.CONFIG;
    if (f.op === ConfigOp.VALUE) return this.refuse(ErrorCode.BAD_STATE, t, 'VALUE is device->host');
    const field = fieldOf(f.key);
    if (!field) return this.refuse(ErrorCode.BAD_FIELD, t, 'unknown key ' + f.key);
    if (f.op === ConfigOp.SET) {
      const d = decodeValue(f.key, f.value);
      if ('error' in d) return this.refuse(ErrorCode.BAD_FIELD, t, d.error);
      const bad = checkValue(this.board, this.config, field, d.value);
      if (bad) return this.refuse(ErrorCode.BAD_FIELD, t, bad);
      if (field === 'sampleRate' && this.uplink.active)
        return this.refuse(ErrorCode.BAD_STATE, t, 'streaming');
      (this.config as unknown as Record<string, number | string>)[field] = d.value;
      this.apply(field);
      if (!this.hal.save(CONFIG_FILE, this.config)) {
        this.counters.errors++;
        this.sendError(ErrorCode.INTERNAL, Fault.INTERNAL, t, 'config not saved');
      }
    }
    const v = encodeValue(this.config, f.key) as Uint8Array;
    const b = frame(6 + v.length, FrameType.CONFIG, 0, 0);
    b[4] = ConfigOp.VALUE;
    b[5] = f.key;
    b.set(v, 6);
    this.sendRaw(b);
  }

  /** Apply a changed config field to the running pipeline. */
  private apply(field: string): void {
    const c = this.config;
    const g = this.gate.options;
    if (field === 'sampleRate') {
      this.hal.stopMic();
      this.uplink.rate = c.sampleRate;
      g.rate = c.sampleRate;
      this.startMic();
    } else if (field === 'vadThreshold') this.vad.threshold = c.vadThreshold;
    else if (field === 'hangoverMs') g.hangoverMs = c.hangoverMs;
    else if (field === 'maxUtteranceMs') g.maxUtteranceMs = c.maxUtteranceMs;
    else if (field === 'volume') this.playback.setVolume(c.volume);
    else if (field === 'name') this.hal.setName(c.name);
    if ((field === 'sampleRate' || field === 'wakeSensitivity') && this.detector instanceof VadWakeDetector) {
      this.detector.minSpeechSamples = minSpeechSamples(c.wakeSensitivity, c.sampleRate);
    }
  }

  // ---- status and LEDs -----------------------------------------------------------------------

  sendStatus(): void {
    const hal = this.hal;
    const free = hal.freeVars();
    const c = this.counters;
    const b = frame(17, FrameType.STATUS, 0, 0);
    b[4] = hal.battery();
    put(b, 5, free > 0xffff ? 0xffff : free, 2);
    put(b, 7, c.overruns, 2);
    put(b, 9, this.uplink.counters.resent, 2);
    put(b, 11, c.errors, 2);
    put(b, 13, ((hal.now() - this.bootMs) / 1000) | 0, 4);
    this.sendRaw(b);
  }

  /** LEDs: LISTENING/SPEAKING → LED 2 (green), VERIFYING/THINKING → LED 3 (blue), ERROR → LED 1. */
  showState(state: number): void {
    if (state === this.shownState) return;
    this.shownState = state;
    const hal = this.hal;
    const n = hal.ledCount;
    let on = -1;
    if (state === AssistantState.LISTENING || state === AssistantState.SPEAKING) on = 1;
    else if (state === AssistantState.VERIFYING || state === AssistantState.THINKING) on = 2;
    else if (state === AssistantState.ERROR) on = 0;
    if (on >= n) on = n - 1;
    for (let i = 0; i < n; i++) hal.led(i, i === on);
  }
}
