/**
 * The earbud program: wires the HAL to the VAD, the wake gate, the sample ring, the uplink sender,
 * playback and configuration, and speaks the Budlink protocol (docs/FIRMWARE.md §Behaviour).
 *
 * Every entry point from the HAL (mic buffer, speaker refill, downlink write, button, timers) runs
 * inside a try/catch: an exception is counted and reported with an ERROR frame, never propagated.
 *
 * Memory: on Espruino every closure is a function plus the scope it keeps alive (JsVars for the whole
 * program lifetime). The App is itself the event sink of the gate (GateEvents), of playback
 * (PlaybackPorts) and of the BLE HAL (BleHandlers): methods on one prototype, no wrapper closures.
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
  decodeFrame,
  encodeFrame,
} from '@budlink/protocol';
import type {
  ConfigFrame,
  EndReasonCode,
  ErrorCodeValue,
  FaultCode,
  Frame,
  WelcomeFrame,
} from '@budlink/protocol';
import { drainPerSecond } from '../../boards/index';
import type { BoardProfile } from '../../boards/index';
import type { BleHandlers, Hal } from '../hal/types';
import { CONFIG_FILE, checkValue, decodeValue, encodeValue, fieldOf, loadConfig } from './config';
import type { Config } from './config';
import { encodePong, encodeStatus, fastPlay, fastWelcome } from './fastpath';
import { Gate, VadWakeDetector } from './gate';
import type { GateEvents, WakeDetector, WakeHit } from './gate';
import { Playback } from './playback';
import type { PlaybackPorts } from './playback';
import { SampleRing } from './ring';
import { Uplink } from './uplink';
import { Vad } from './vad';

/** Timing constants (ms) of the device's observable behaviour. */
export const TIMING = {
  /** HELLO is repeated this often until WELCOME. */
  helloMs: 1000,
  /** ... at most this many times per connection. */
  helloTries: 10,
  statusMs: 5000,
  /** Re-send the newest unacknowledged frame after this long without ACK progress. */
  rtoMs: 500,
  /** Abandon an utterance stream with no ACK for this long. */
  giveUpMs: 10000,
  /** A button press shorter than this is a tap. */
  tapMs: 600,
  watchdogS: 5,
};

/** VAD threshold factor while the speaker plays (≈ +6 dB): echo of the reply is not a barge-in. */
export const ECHO_BIAS = 4;

/** Pacer period (ms) while there is nothing to send: it only kicks the watchdog and updates the LEDs. */
export const IDLE_TICK_MS = 200;

/** Control frames waiting for the pacer, at most (older ones are dropped and counted). */
export const CONTROL_QUEUE = 8;

/** Minimum sustained speech (ms) for the VAD wake detector at a given WAKE_SENSITIVITY. */
export function minSpeechMs(sensitivity: number): number {
  return 50 + (255 - sensitivity) * 2;
}

export interface AppCounters {
  /** Mic buffers lost to a late handler. */
  overruns: number;
  /** Handler exceptions caught. */
  errors: number;
  /** Malformed or refused frames from the host. */
  refused: number;
  /** Control frames dropped because the queue was full. */
  controlDropped: number;
  /** notify() calls that threw. */
  notifyFailed: number;
}

export class App implements GateEvents, PlaybackPorts, BleHandlers {
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
  private msgSeq = 0;
  private helloLeft = 0;
  private nonce: number;
  private bootMs: number;
  private lastBufAt = 0;
  /** Mic buffer period and the gap (1.5 periods) past which buffers were lost. */
  private periodMs = 64;
  private latePeriodMs = 96;
  private downAt = -1;
  private micError: string | null = null;
  /** Pacer bucket: tokens (free TX slots) at `tokenAt`, refilled at `drainPerMs`. */
  private tokens = 0;
  private tokenAt = 0;
  private drainPerMs: number;
  /** The pacer's interval timer and whether it runs at the idle period. */
  private tickId = -1;
  private tickSlow = false;

  constructor(board: BoardProfile, hal: Hal, detector?: WakeDetector) {
    this.board = board;
    this.hal = hal;
    const loaded = loadConfig(board, hal.store.read(CONFIG_FILE));
    const cfg = loaded.config;
    this.config = cfg;
    this.counters.errors = loaded.rejected;
    this.playRate = cfg.sampleRate;
    this.drainPerMs = drainPerSecond(board) / 1000;
    this.nonce = hal.sys.random32();
    this.bootMs = hal.clock.now();
    this.ring = new SampleRing(board.ringBytes);
    this.vad = new Vad(hal.dsp, { threshold: cfg.vadThreshold, minEnergy: 4, initialFloor: 4 });
    this.detector = detector || new VadWakeDetector(this.speechSamples());
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
    this.playback = new Playback(board.playbackBytes, MIN_PAYLOAD, hal.dsp, this);
    this.playback.setVolume(cfg.volume);
  }

  /** Start everything: BLE, button, microphone, pacer, status, watchdog. */
  boot(): void {
    const hal = this.hal;
    hal.ble.start(this.config.name, this.board.maxPayload, this);
    hal.io.onButton((down, t) => {
      try {
        this.onButton(down, t);
      } catch (e) {
        this.fail('button', e);
      }
    });
    this.startMic();
    this.setTick(false);
    hal.clock.setInterval(() => this.onStatusTimer(), TIMING.statusMs);
    hal.sys.enableWatchdog(TIMING.watchdogS);
    this.showState(AssistantState.IDLE);
  }

  /** Count and report a caught handler error (ERROR INTERNAL + a console line). */
  fail(name: string, e: unknown): void {
    this.counters.errors++;
    const msg = e instanceof Error ? e.message : String(e);
    this.hal.sys.log('budlink ' + name + ': ' + msg);
    try {
      this.sendError(ErrorCode.INTERNAL, Fault.INTERNAL, 0, name + ': ' + msg);
    } catch {
      // Reporting failed too (e.g. encoder bug): the counter above still records it.
    }
  }

  // ---- audio in ------------------------------------------------------------------------------

  /** Mic buffer handler: overrun check, ring, VAD, gate. A few dozen statements, natives per sample. */
  onMicBuffer(buf: Uint8Array): void {
    const now = this.hal.clock.now();
    const dt = now - this.lastBufAt;
    this.lastBufAt = now;
    if (dt > this.latePeriodMs) this.counters.overruns += Math.round(dt / this.periodMs) - 1;
    const ring = this.ring;
    ring.write(buf);
    this.gate.onBuffer(buf, this.vad.process(buf), ring.written);
  }

  private startMic(): void {
    this.periodMs = (this.board.bufferSamples * 1000) / this.config.sampleRate;
    this.latePeriodMs = this.periodMs * 1.5;
    this.lastBufAt = this.hal.clock.now();
    this.micError = this.hal.audio.startMic({
      rate: this.config.sampleRate,
      samples: this.board.bufferSamples,
      onBuffer: (buf) => {
        try {
          this.onMicBuffer(buf);
        } catch (e) {
          this.fail('mic', e);
        }
      },
    });
    if (this.micError) {
      this.counters.errors++;
      this.hal.sys.log('budlink mic: ' + this.micError);
    }
  }

  private speechSamples(): number {
    return Math.round((minSpeechMs(this.config.wakeSensitivity) * this.config.sampleRate) / 1000);
  }

  /** GateEvents: the gate opened (false refuses: not welcomed, or the previous stream is in flight). */
  onWake(hit: WakeHit): boolean {
    if (!this.welcomed || this.uplink.active) return false;
    // Barge-in: a wake or tap while the reply plays stops it at once.
    if (this.playback.busy()) this.playback.cancel();
    if (!this.uplink.start(hit, this.config.preRollMs, this.hal.clock.now())) return false;
    // Send the WAKE and the first frames right after this handler rather than at the next tick (the
    // pre-roll backlog is at its largest now), as a job of their own so the mic handler stays short.
    if (this.tickSlow) this.setTick(false);
    this.hal.clock.setTimeout(() => this.tick(), 0);
    this.showState(AssistantState.LISTENING);
    return true;
  }

  /** GateEvents: the utterance ends at absolute sample `end`. */
  onEnd(reason: EndReasonCode, end: number): void {
    this.uplink.finish(reason, end);
    this.showState(AssistantState.VERIFYING);
  }

  private onButton(down: boolean, t: number): void {
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

  /** PlaybackPorts: the speaker stops (reply complete or barge-in). */
  stopOutput(): void {
    this.vad.bias = 1;
    this.hal.audio.stopSpeaker();
    if (this.shownState === AssistantState.SPEAKING) this.showState(AssistantState.IDLE);
  }

  /** PlaybackPorts: start the speaker (it calls playback.fill per buffer). */
  startOutput(): string | null {
    if (!this.board.speaker) return 'no speaker on ' + this.board.id;
    this.showState(AssistantState.SPEAKING);
    this.vad.bias = ECHO_BIAS;
    return this.hal.audio.startSpeaker({
      rate: this.playRate,
      samples: this.board.playbackBufferSamples,
      onNeed: (buf) => {
        try {
          this.playback.fill(buf);
        } catch (e) {
          this.fail('speaker', e);
        }
      },
    });
  }

  // ---- link ----------------------------------------------------------------------------------

  /** BleHandlers: a central connected. */
  onConnect(): void {
    try {
      this.connect();
    } catch (e) {
      this.fail('connect', e);
    }
  }

  /** BleHandlers: the central disconnected. */
  onDisconnect(): void {
    try {
      this.disconnect();
    } catch (e) {
      this.fail('disconnect', e);
    }
  }

  /** BleHandlers: one frame written by the host to the downlink characteristic. */
  onWrite(bytes: Uint8Array): void {
    try {
      this.handleWrite(bytes);
    } catch (e) {
      this.fail('write', e);
    }
  }

  private connect(): void {
    this.connected = true;
    this.welcomed = false;
    this.payload = MIN_PAYLOAD;
    this.setPayload(MIN_PAYLOAD);
    this.control = [];
    // The nonce says what the device kept (PROTOCOL.md §5): the previous one while an utterance stream
    // is still unfinished (the host keeps reassembling it and the stream resumes after WELCOME), a new
    // one otherwise.
    if (!this.uplink.active) this.nonce = this.hal.sys.random32();
    this.helloLeft = TIMING.helloTries;
    this.sendHello();
  }

  /**
   * The utterance survives the link (PROTOCOL.md §5): capture goes on into the ring and the window
   * keeps its frames until resume() after the next WELCOME. A reply does not: the speaker stops now and
   * the CREDIT after the next WELCOME reports that stream's playedSamples, as after a barge-in.
   */
  private disconnect(): void {
    this.connected = false;
    this.welcomed = false;
    this.uplink.suspend();
    if (this.playback.busy()) {
      this.playback.cancel();
      this.hal.sys.log(
        'budlink: link lost, reply ' + this.playback.stream + ' cut at ' + this.playback.played,
      );
    } else this.playback.reset();
    this.control = [];
    if (!this.uplink.active) this.showState(AssistantState.IDLE);
  }

  private setPayload(p: number): void {
    this.payload = p;
    this.uplink.payload = p;
    this.playback.payload = p;
  }

  private hello(): Frame {
    const b = this.board;
    let caps = Capability.TAP | Capability.VAD | Capability.BATTERY | Capability.CONFIG_STORE;
    if (b.speaker) caps |= Capability.PLAYBACK;
    if (b.mic.source === 'pdm') caps |= Capability.PDM_MIC;
    return {
      type: FrameType.HELLO,
      stream: 0,
      seq: 0,
      protoMajor: PROTOCOL_MAJOR,
      protoMinor: PROTOCOL_MINOR,
      capabilities: caps,
      codecs: Codec.PCM_U8,
      sampleRate: this.config.sampleRate,
      maxPayload: b.maxPayload,
      ringFrames: b.ringFrames,
      nonce: this.nonce,
      board: b.id,
    };
  }

  private onHelloTimer(): void {
    try {
      if (this.connected && !this.welcomed) this.sendHello();
    } catch (e) {
      this.fail('hello', e);
    }
  }

  /** HELLO: set as the uplink's readable value (a long read gets all of it) and notified. */
  private sendHello(): void {
    this.helloLeft--;
    const bytes = this.encode(this.hello(), this.board.maxPayload);
    this.hal.ble.setValue(bytes);
    this.enqueue(bytes);
    if (this.helloLeft > 0) {
      this.hal.clock.setTimeout(() => this.onHelloTimer(), TIMING.helloMs);
    }
  }

  /**
   * Pacer: a token bucket on the clock. Tokens (free TX-queue slots) refill at the link's drain rate by
   * the time elapsed since the last tick, up to `pacing.burst`; each notification takes one. Control
   * frames go first, then the utterance. Two ticks run back to back (after a long job) get only the
   * tokens the link drained in between, so the stack's queue never overflows.
   */
  tick(): void {
    try {
      this.pace();
    } catch (e) {
      this.fail('tick', e);
    }
  }

  private pace(): void {
    this.hal.sys.kickWatchdog();
    const up = this.uplink;
    const q = this.control;
    if (!this.connected || !(q.length || up.active)) {
      if (this.shownState === AssistantState.LISTENING) this.showState(AssistantState.IDLE);
      // Nothing to send: tick slowly (it still kicks the watchdog) until a frame is queued or a stream starts.
      if (!this.tickSlow) this.setTick(true);
      return;
    }
    const now = this.hal.clock.now();
    const burst = this.board.pacing.burst;
    const dt = now - this.tokenAt;
    // A clock set backwards (setTime) refills nothing rather than stalling the pacer.
    let t = dt > 0 ? this.tokens + dt * this.drainPerMs : this.tokens;
    if (t > burst) t = burst;
    this.tokenAt = now;
    const ble = this.hal.ble;
    const live = this.welcomed;
    for (; t >= 1; t--) {
      const f = q.length ? (q.shift() as Uint8Array) : live ? up.next(now) : null;
      if (!f) break;
      if (!ble.notify(f)) {
        this.counters.notifyFailed++;
        break;
      }
    }
    this.tokens = t;
  }

  /** Encode a frame (throws on our own bug: caught by the entry point's try/catch). */
  private encode(f: Frame, limit: number): Uint8Array {
    const r = encodeFrame(f, limit);
    if (!r.ok) throw new Error('encode ' + f.type + ': ' + r.error.message);
    return r.bytes;
  }

  /** Run the pacer every `pacing.tickMs` (work to send) or every IDLE_TICK_MS (nothing to send). */
  private setTick(slow: boolean): void {
    const clock = this.hal.clock;
    if (this.tickId >= 0) clock.clearInterval(this.tickId);
    this.tickSlow = slow;
    this.tickId = clock.setInterval(() => this.tick(), slow ? IDLE_TICK_MS : this.board.pacing.tickMs);
  }

  private enqueue(bytes: Uint8Array): void {
    if (!this.connected) return;
    if (this.tickSlow) this.setTick(false);
    if (this.control.length >= CONTROL_QUEUE) {
      this.control.shift();
      this.counters.controlDropped++;
    }
    this.control.push(bytes);
  }

  /** Queue a control frame; session frames get the next message seq (PLAY_END keeps its own). */
  send(f: Frame): void {
    if (f.type !== FrameType.PLAY_END) {
      f.seq = this.msgSeq;
      this.msgSeq = (this.msgSeq + 1) & 0xffff;
    }
    this.enqueue(this.encode(f, this.payload));
  }

  /** The next session message seq (u16). */
  private nextSeq(): number {
    const s = this.msgSeq;
    this.msgSeq = (s + 1) & 0xffff;
    return s;
  }

  /** Queue pre-encoded bytes of a non-stream-sequenced frame, stamping the next message seq. */
  sendRaw(bytes: Uint8Array): void {
    const s = this.nextSeq();
    bytes[2] = s;
    bytes[3] = s >> 8;
    this.enqueue(bytes);
  }

  sendError(code: ErrorCodeValue, fault: FaultCode, refType: number, message: string): void {
    let m = '';
    for (let i = 0; i < message.length && m.length < this.payload - 7; i++) {
      const c = message.charCodeAt(i);
      m += c >= 0x20 && c <= 0x7e ? message[i] : '?';
    }
    this.send({
      type: FrameType.ERROR,
      stream: 0,
      seq: 0,
      code: code,
      fault: fault,
      refType: refType,
      message: m,
    });
  }

  private refuse(code: ErrorCodeValue, refType: number, message: string): void {
    this.counters.refused++;
    this.sendError(code, Fault.PEER, refType, message);
  }

  private handleWrite(bytes: Uint8Array): void {
    if (this.welcomed) {
      // A plain ACK (no gaps: fastAck's test, inlined): no frame object, O(1) in the window.
      if (bytes.length === 7 && bytes[0] === FrameType.ACK && bytes[6] === 0) {
        this.uplink.ackTo(
          bytes[1] as number,
          (bytes[4] as number) | ((bytes[5] as number) << 8),
          this.hal.clock.now(),
        );
        return;
      }
      const play = this.board.speaker ? fastPlay(bytes, this.board.maxPayload) : null;
      if (play) {
        const err = this.playback.onPlay(play);
        if (err) this.refuse(ErrorCode.OVERFLOW, FrameType.PLAY, err);
        return;
      }
    }
    const welcome = fastWelcome(bytes);
    if (welcome) return this.onWelcome(welcome);
    const r = decodeFrame(bytes, this.board.maxPayload);
    if (!r.ok) {
      this.counters.refused++;
      // Never answer an ERROR with ERROR, valid or not (no loops: docs/PROTOCOL.md §8).
      if (bytes[0] === FrameType.ERROR) return;
      this.sendError(r.error.code, r.error.fault, bytes.length ? (bytes[0] as number) : 0, r.error.message);
      return;
    }
    const f = r.frame;
    const t = f.type;
    if (t === FrameType.WELCOME) return this.onWelcome(f);
    if (t === FrameType.PING) return this.enqueue(encodePong(this.nextSeq(), f.token));
    if (t === FrameType.CONFIG) return this.onConfig(f);
    if (t === FrameType.STATE) {
      this.showState(f.state);
      return;
    }
    if (t === FrameType.ERROR) {
      this.hal.sys.log('budlink host error ' + f.code + ': ' + f.message);
      return;
    }
    if (!this.welcomed) return this.refuse(ErrorCode.BAD_STATE, t, 'before WELCOME');
    if (t === FrameType.ACK || t === FrameType.NACK) {
      this.uplink.onAck(f, this.hal.clock.now());
      return;
    }
    if (t === FrameType.GATE) {
      if (f.stream === this.uplink.stream && f.verdict !== Verdict.ACCEPT) {
        this.gate.stop(f.verdict === Verdict.CANCEL ? EndReason.CANCELLED : EndReason.HOST);
      }
      return;
    }
    if (t === FrameType.PLAY || t === FrameType.PLAY_END) {
      if (!this.board.speaker) return this.refuse(ErrorCode.BAD_STATE, t, 'no speaker');
      const err = t === FrameType.PLAY ? this.playback.onPlay(f) : this.playback.onPlayEnd(f);
      if (err) this.refuse(ErrorCode.OVERFLOW, t, err);
      if (!this.playback.busy() && this.shownState === AssistantState.SPEAKING)
        this.showState(AssistantState.IDLE);
      return;
    }
    this.refuse(ErrorCode.BAD_STATE, t, 'not for the device');
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
    const lost = !this.welcomed && this.uplink.resume(this.hal.clock.now());
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
      if (!this.hal.store.write(CONFIG_FILE, this.config)) {
        this.counters.errors++;
        this.sendError(ErrorCode.INTERNAL, Fault.INTERNAL, t, 'config not saved');
      }
    }
    this.send({
      type: FrameType.CONFIG,
      stream: 0,
      seq: 0,
      op: ConfigOp.VALUE,
      key: f.key,
      value: encodeValue(this.config, f.key) as Uint8Array,
    });
  }

  /** Apply a changed config field to the running pipeline. */
  private apply(field: string): void {
    const c = this.config;
    const g = this.gate.options;
    if (field === 'sampleRate') {
      this.hal.audio.stopMic();
      this.uplink.rate = c.sampleRate;
      g.rate = c.sampleRate;
      this.startMic();
    } else if (field === 'vadThreshold') this.vad.threshold = c.vadThreshold;
    else if (field === 'hangoverMs') g.hangoverMs = c.hangoverMs;
    else if (field === 'maxUtteranceMs') g.maxUtteranceMs = c.maxUtteranceMs;
    else if (field === 'volume') this.playback.setVolume(c.volume);
    else if (field === 'name') this.hal.ble.setName(c.name);
    if ((field === 'sampleRate' || field === 'wakeSensitivity') && this.detector instanceof VadWakeDetector) {
      this.detector.minSpeechSamples = this.speechSamples();
    }
  }

  // ---- status and LEDs -----------------------------------------------------------------------

  private onStatusTimer(): void {
    try {
      if (this.connected && this.welcomed) this.sendStatus();
    } catch (e) {
      this.fail('status', e);
    }
  }

  sendStatus(): void {
    const sys = this.hal.sys;
    const free = sys.memory().free;
    const c = this.counters;
    this.enqueue(
      encodeStatus(
        this.nextSeq(),
        sys.battery(),
        free > 0xffff ? 0xffff : free,
        c.overruns & 0xffff,
        this.uplink.counters.resent & 0xffff,
        c.errors & 0xffff,
        ((this.hal.clock.now() - this.bootMs) / 1000) | 0,
      ),
    );
  }

  /** LEDs: LISTENING/SPEAKING → LED 2 (green), VERIFYING/THINKING → LED 3 (blue), ERROR → LED 1. */
  showState(state: number): void {
    if (state === this.shownState) return;
    this.shownState = state;
    const io = this.hal.io;
    const n = io.ledCount;
    let on = -1;
    if (state === AssistantState.LISTENING || state === AssistantState.SPEAKING) on = 1;
    else if (state === AssistantState.VERIFYING || state === AssistantState.THINKING) on = 2;
    else if (state === AssistantState.ERROR) on = 0;
    if (on >= n) on = n - 1;
    for (let i = 0; i < n; i++) io.led(i, i === on);
  }
}
