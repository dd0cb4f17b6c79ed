/**
 * One device's session: wires the pipeline units of this folder around the device's connections (a
 * new Connection after each reconnect) and a VoiceService.
 *
 *   conn.frames$ → deframe → uplink dispatch: HELLO → handshake → WELCOME (payload = min(device, link))
 *                          → keepAlive (PING/PONG, silent link → disconnect)
 *                          → reassemble (ACK/NACK; survives reconnects) → verifyWake → GATE
 *                              → reply controller: voice.respond → toDeviceAudio → packetize
 *                                → pacePlayback → PLAY…PLAY_END
 *                          → statusMetrics
 *   every phase change    → sessionState → STATE frame
 *   per utterance         → report tracker → stage timings, outcome
 *
 * Subscribing starts the session; unsubscribing stops it (cancels any reply in flight, releases
 * timers). It never errors: voice errors, verifier errors, link write failures and protocol errors
 * are logged, shown to the earbud as STATE ERROR where it matters, and the session goes on.
 */
import { Observable, Subject, Subscription, asyncScheduler, type SchedulerLike } from 'rxjs';
import {
  AssistantState,
  FrameType,
  MIN_PAYLOAD,
  type AckFrame,
  type CreditFrame,
  type Frame,
} from '@budlink/protocol';
import type { Connection } from '@budlink/link';
import { SESSION_DEFAULTS } from '../defaults';
import type { VoiceService } from '../voice/types';
import { ConnectionLifecycle } from './connection-lifecycle';
import { Downlink } from './downlink';
import { errorText } from './error-text';
import { Handshake } from './handshake';
import { TokenBucket } from './rate-limit';
import { reassemble, utteranceLimit, type ReassemblyInput, type UtteranceLimit } from './reassemble';
import { ReplyController } from './reply-controller';
import { ReportTracker } from './report-tracker';
import { sessionState, type PhaseTimeouts, type SessionInput } from './session-state';
import { statusMetrics } from './status-metrics';
import { UplinkDispatch } from './uplink-dispatch';
import {
  acceptAllVerifier,
  deviceLog,
  silentLogger,
  type DeviceLog,
  type Logger,
  type Phase,
  type SessionEvent,
  type SessionHooks,
  type WakeVerifier,
} from './types';

export interface SessionOptions {
  deviceId: string;
  voice: VoiceService;
  verifier?: WakeVerifier;
  logger?: Logger;
  scheduler?: SchedulerLike;
  /** Host clock for timings (ms); default performance.now. */
  now?: () => number;
  /** PING period sent in WELCOME and used by the host (default 2000; 0 = none). */
  keepAliveMs?: number;
  /** Device silence after which the link is dropped (default 4 × keepAliveMs, 0 = never). */
  keepAliveTimeoutMs?: number;
  /** Disconnect a connection that sends no HELLO within this (default 3000 ms, PROTOCOL.md §5; 0 = never). */
  helloTimeoutMs?: number;
  /** Phase inactivity timeouts (defaults: utterance 5 s, verifying 5 s, thinking 30 s, speaking 10 s). */
  timeouts?: PhaseTimeouts;
  /** Longest utterance accepted (default 60 s of audio; 0: no limit): a longer one is cancelled and reported. */
  maxUtteranceMs?: number;
  /** Utterances relayed to the voice service a minute (default 20; 0: no limit): more get GATE REJECT. */
  maxUtterancesPerMinute?: number;
  /** Re-NACK period for gaps (default 150 ms) and ACK every N frames (default 8). */
  nackIntervalMs?: number;
  ackEveryFrames?: number;
  /** PLAY frames before the first CREDIT (default 4) and credit stall timeout (default 5000 ms). */
  playInitialWindow?: number;
  playStallMs?: number;
  hooks?: SessionHooks;
}

/** SessionOptions with every default filled in (host/src/defaults.ts). */
interface Settings {
  deviceId: string;
  voice: VoiceService;
  verifier: WakeVerifier;
  log: DeviceLog;
  scheduler: SchedulerLike;
  now: () => number;
  hooks: SessionHooks;
  keepAliveMs: number;
  keepAliveTimeoutMs: number;
  helloTimeoutMs: number;
  timeouts: PhaseTimeouts;
  maxUtteranceMs: number;
  maxUtterancesPerMinute: number;
  nackIntervalMs: number;
  ackEveryFrames: number;
  playInitialWindow: number;
  playStallMs: number;
  playDrainMarginMs: number;
  playCreditProbeMs: number;
  playNackHoldMs: number;
}

function settingsOf(o: SessionOptions): Settings {
  const d = SESSION_DEFAULTS;
  const keepAliveMs = o.keepAliveMs ?? d.keepAliveMs;
  return {
    deviceId: o.deviceId,
    voice: o.voice,
    verifier: o.verifier ?? acceptAllVerifier,
    log: deviceLog(o.logger ?? silentLogger, o.deviceId),
    scheduler: o.scheduler ?? asyncScheduler,
    now: o.now ?? (() => performance.now()),
    hooks: o.hooks ?? {},
    keepAliveMs,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? keepAliveMs * d.keepAliveTimeoutFactor,
    helloTimeoutMs: o.helloTimeoutMs ?? d.helloTimeoutMs,
    timeouts: { ...d.timeouts, ...o.timeouts },
    maxUtteranceMs: o.maxUtteranceMs ?? d.maxUtteranceMs,
    maxUtterancesPerMinute: o.maxUtterancesPerMinute ?? d.maxUtterancesPerMinute,
    nackIntervalMs: o.nackIntervalMs ?? d.nackIntervalMs,
    ackEveryFrames: o.ackEveryFrames ?? d.ackEveryFrames,
    playInitialWindow: o.playInitialWindow ?? d.playInitialWindow,
    playStallMs: o.playStallMs ?? d.playStallMs,
    playDrainMarginMs: d.playDrainMarginMs,
    playCreditProbeMs: d.playCreditProbeMs,
    playNackHoldMs: d.playNackHoldMs,
  };
}

export function runSession(
  connections$: Observable<Connection>,
  options: SessionOptions,
): Observable<SessionEvent> {
  const s = settingsOf(options);
  const { deviceId, log } = s;
  return new Observable<SessionEvent>((subscriber) => {
    const subs = new Subscription();
    const emit = (event: SessionEvent): void => subscriber.next(event);
    const inputs = new Subject<SessionInput>();
    const uplink$ = new Subject<ReassemblyInput>();
    const feedback$ = new Subject<CreditFrame | AckFrame>();
    const status$ = new Subject<Frame>();
    let phase: Phase = 'handshake';

    const handshake = new Handshake(s);
    const downlink = new Downlink({ payloadSize: () => handshake.negotiated?.payloadSize, log });
    const reports = new ReportTracker({
      ...s,
      finished: (report) => emit({ kind: 'utterance', deviceId, report }),
    });
    const replies = new ReplyController({
      ...s,
      reports,
      send: (frame) => downlink.send(frame),
      input: (input) => inputs.next(input),
      feedback$,
      deviceRate: () => handshake.negotiated?.sampleRate,
    });
    const parts = { ...s, downlink, handshake, replies, reports, inputs, uplink$, feedback$, status$, emit };
    const perMinute = s.maxUtterancesPerMinute;
    const budget = perMinute > 0 ? new TokenBucket(perMinute, perMinute / 60, s.now) : undefined;
    const dispatch = new UplinkDispatch({ ...parts, phase: () => phase, utteranceBudget: budget });
    const connections = new ConnectionLifecycle({ ...parts, dispatch });

    subs.add(
      inputs.pipe(sessionState(s)).subscribe((change) => {
        phase = change.to;
        if (change.state !== undefined) {
          downlink.send({
            type: FrameType.STATE,
            stream: 0,
            seq: 0,
            state: change.state,
            detail: change.detail,
          });
        }
        const level = change.state === AssistantState.ERROR ? 'warn' : 'debug';
        log(level, `${change.from} → ${change.to} (${change.cause})`);
        emit({ kind: 'phase', deviceId, change });
        if (change.cause.startsWith('timeout')) dispatch.timeout(change.from);
      }),
    );
    const window = (): number => ringWindow(handshake.negotiated?.ringFrames);
    const payloadSize = (): number => handshake.negotiated?.payloadSize ?? MIN_PAYLOAD;
    const maxUtterance = (): UtteranceLimit | undefined => {
      const n = handshake.negotiated;
      return n === undefined ? undefined : utteranceLimit(s.maxUtteranceMs, n.sampleRate, n.codec);
    };
    subs.add(
      uplink$
        .pipe(reassemble({ ...s, payloadSize, window, maxUtterance }))
        .subscribe((out) => dispatch.reassembly(out)),
    );
    subs.add(
      status$
        .pipe(statusMetrics(deviceId))
        .subscribe((metrics) => emit({ kind: 'status', deviceId, metrics })),
    );
    subs.add(dispatch.verifications);
    subs.add(
      connections$.subscribe({
        next: (c) => connections.attach(c),
        error: (e: unknown) => log('error', `no more connections: ${errorText(e)}`),
      }),
    );

    return () => {
      replies.end('aborted', 'session closed');
      subs.unsubscribe();
      connections.close();
      inputs.complete();
    };
  });
}

/** The reassembly window: the device's ring (from HELLO), or the default when it gave none. */
function ringWindow(ringFrames: number | undefined): number {
  return ringFrames !== undefined && ringFrames > 0 ? ringFrames : SESSION_DEFAULTS.window;
}
