/**
 * The HELLO / WELCOME handshake of one device session (PROTOCOL.md §5), over its successive
 * connections: what to answer a HELLO (WELCOME, WELCOME again, nothing, or ERROR for another
 * protocol major), what was negotiated, whether the device resumed (same nonce) or rebooted (a new
 * one), and, per connection, the HELLO read at connect and the HELLO deadline.
 */
import { Subscription, type SchedulerLike } from 'rxjs';
import {
  Codec,
  ErrorCode,
  Fault,
  FrameType,
  MAX_PAYLOAD,
  MIN_PAYLOAD,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  decodeFrame,
  frameTypeName,
  type ErrorFrame,
  type HelloFrame,
  type WelcomeFrame,
} from '@budlink/protocol';
import type { Connection } from '@budlink/link';
import { errorText } from './error-text';
import type { DeviceLog, Phase } from './types';

/** What the host and the device agreed on in the last WELCOME. */
export interface Negotiated {
  payloadSize: number;
  codec: number;
  sampleRate: number;
  board: string;
  nonce: number;
  ringFrames: number;
}

export type HelloOutcome =
  /** Another protocol major: send `error`, then disconnect. */
  | { kind: 'unsupported'; error: ErrorFrame; why: string }
  /** The device repeated HELLO before our WELCOME reached it: answer again, nothing else changes. */
  | { kind: 'welcome-again'; welcome: WelcomeFrame }
  /** The device's retry of the HELLO we read at connect and already answered: no answer. */
  | { kind: 'already-welcomed' }
  /** A (re)negotiated session: send `welcome`. */
  | { kind: 'welcomed'; welcome: WelcomeFrame; negotiated: Negotiated; resumed: boolean; rebooted: boolean };

export interface HandshakeOptions {
  /** PING period told to the device in WELCOME. */
  keepAliveMs: number;
  /** No HELLO on a connection within this: `timedOut` (0: never). */
  helloTimeoutMs: number;
  scheduler: SchedulerLike;
  log: DeviceLog;
}

export interface HandshakeWatch {
  /** Still the session's connection. */
  isCurrent(): boolean;
  /** A HELLO read from the uplink at connect, to be handled as if notified. */
  deliver(hello: HelloFrame): void;
  /** No HELLO within helloTimeoutMs. */
  timedOut(): void;
}

export class Handshake {
  /** The connection the last HELLO came on. */
  private helloConn: Connection | undefined;
  /** Set when a connection's HELLO was read, not notified: its first notified repeat is expected. */
  private readHelloConn: Connection | undefined;
  private current: Negotiated | undefined;

  constructor(private readonly options: HandshakeOptions) {}

  get negotiated(): Negotiated | undefined {
    return this.current;
  }

  /** A HELLO came on `c` (the connection has been welcomed). */
  welcomed(c: Connection): boolean {
    return this.helloConn === c;
  }

  /** The answer to `hello` on `c`, the session being in `phase`. */
  hello(hello: HelloFrame, c: Connection, phase: Phase): HelloOutcome {
    if (hello.protoMajor !== PROTOCOL_MAJOR) return unsupported(hello);
    const payloadSize = Math.max(MIN_PAYLOAD, Math.min(hello.maxPayload, c.payloadSize, MAX_PAYLOAD));
    const codec = hello.codecs & Codec.PCM_U8 ? Codec.PCM_U8 : Codec.PCM_S16LE;
    const welcome: WelcomeFrame = {
      type: FrameType.WELCOME,
      stream: 0,
      seq: 0,
      protoMajor: PROTOCOL_MAJOR,
      protoMinor: PROTOCOL_MINOR,
      payloadSize,
      codec,
      sampleRate: hello.sampleRate,
      keepAliveMs: this.options.keepAliveMs,
      nonce: hello.nonce, // echoed (PROTOCOL.md §WELCOME)
    };
    const previous = this.current;
    if (this.helloConn === c && previous?.nonce === hello.nonce) {
      if (this.readHelloConn === c) {
        // The HELLO we read was answered; this is the device's retry, sent before our WELCOME
        // reached it. Not answered twice (a second WELCOME renegotiates); a later retry is.
        this.readHelloConn = undefined;
        return { kind: 'already-welcomed' };
      }
      return { kind: 'welcome-again', welcome };
    }
    this.readHelloConn = undefined;
    this.helloConn = c;
    const negotiated: Negotiated = {
      payloadSize,
      codec,
      sampleRate: hello.sampleRate,
      board: hello.board,
      nonce: hello.nonce,
      ringFrames: hello.ringFrames,
    };
    this.current = negotiated;
    return {
      kind: 'welcomed',
      welcome,
      negotiated,
      resumed: previous !== undefined && previous.nonce === hello.nonce && phase === 'handshake',
      rebooted: previous !== undefined && previous.nonce !== hello.nonce,
    };
  }

  /**
   * Watch a new connection until its HELLO. The device notifies HELLO as the central connects,
   * before we subscribed: that one is lost, and its retry comes only 1 s later (time the device's
   * ring may not have after a reconnect). The uplink's readable value is the current HELLO
   * (PROTOCOL.md §1, §5): read it once and deliver it as if notified. Anything else there (or a
   * failed read) is ignored: the notified HELLO still counts. With no HELLO within helloTimeoutMs,
   * `timedOut` (PROTOCOL.md §5: the caller disconnects and reconnects).
   */
  watch(c: Connection, watch: HandshakeWatch): Subscription {
    this.readHello(c, watch);
    const ms = this.options.helloTimeoutMs;
    if (ms <= 0) return new Subscription();
    return this.options.scheduler.schedule(() => {
      if (!watch.isCurrent() || this.welcomed(c)) return;
      this.options.log('warn', `no HELLO within ${ms} ms: disconnecting`);
      watch.timedOut();
    }, ms);
  }

  private readHello(c: Connection, watch: HandshakeWatch): void {
    if (!c.readUplink) return;
    const log = this.options.log;
    c.readUplink().then(
      (bytes) => {
        if (!watch.isCurrent() || this.welcomed(c)) return; // gone, or a notified HELLO came first
        const r = decodeFrame(bytes);
        if (!r.ok) {
          log('debug', `uplink read is not a frame (${r.error.message}): ignored`);
        } else if (r.frame.type !== FrameType.HELLO) {
          log('debug', `uplink read holds ${frameTypeName(r.frame.type)}, not HELLO: ignored`);
        } else {
          watch.deliver(r.frame);
          if (this.welcomed(c)) this.readHelloConn = c; // its first notified repeat is expected
        }
      },
      (e: unknown) => {
        if (watch.isCurrent()) log('debug', `uplink read failed (${errorText(e)}): waiting for HELLO`);
      },
    );
  }
}

function unsupported(hello: HelloFrame): HelloOutcome {
  return {
    kind: 'unsupported',
    why: `device speaks protocol ${hello.protoMajor}.${hello.protoMinor}, host ${PROTOCOL_MAJOR}.${PROTOCOL_MINOR}: update one of them`,
    error: {
      type: FrameType.ERROR,
      stream: 0,
      seq: 0,
      code: ErrorCode.UNSUPPORTED_VERSION,
      fault: Fault.UNSUPPORTED,
      refType: FrameType.HELLO,
      message: `host speaks ${PROTOCOL_MAJOR}.${PROTOCOL_MINOR}`,
    },
  };
}
