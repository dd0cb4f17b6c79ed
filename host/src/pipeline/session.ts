/**
 * One device's session: composes the pipeline operators of this folder around the device's
 * connections (a new Connection after each reconnect) and a VoiceService.
 *
 *   conn.frames$ → deframe → HELLO: WELCOME (payload = min(device max, link payload))
 *                          → keepAlive (PING/PONG, silent link → disconnect)
 *                          → reassemble (ACK/NACK; survives reconnects) → verifyWake → GATE
 *                              → voice.respond → toDeviceAudio → packetize → pacePlayback → PLAY…PLAY_END
 *                          → statusMetrics
 *   every phase change    → sessionState → STATE frame
 *
 * Subscribing starts the session; unsubscribing stops it (cancels any reply in flight, releases
 * timers). It never errors: voice errors, verifier errors, link write failures and protocol errors
 * are logged, shown to the earbud as STATE ERROR where it matters, and the session goes on.
 */
import { Observable, Subject, Subscription, asyncScheduler, share, type SchedulerLike } from 'rxjs';
import {
  AssistantState,
  Codec,
  EndReason,
  ErrorCode,
  Fault,
  FrameType,
  HEADER_BYTES,
  MAX_PAYLOAD,
  MIN_PAYLOAD,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  PlayEndReason,
  Verdict,
  decodeFrame,
  encodeFrame,
  frameTypeName,
  type AckFrame,
  type CreditFrame,
  type Frame,
  type HelloFrame,
  type PlayFrame,
} from '@budlink/protocol';
import type { Connection } from '../ble/link';
import { SESSION_DEFAULTS } from '../defaults';
import { s16FromLE, u8ToS16 } from '../audio/pcm';
import { VoiceError, type VoiceEvent, type VoiceRequest, type VoiceService } from '../voice/types';
import { deframe } from './deframe';
import { keepAlive } from './keepAlive';
import { packetize } from './packetize';
import { pacePlayback, type PlaybackProgress } from './pacePlayback';
import { reassemble, type ReassemblyInput, type ReassemblyOutput } from './reassemble';
import { sessionState, type PhaseTimeouts, type SessionInput } from './sessionState';
import { statusMetrics } from './statusMetrics';
import { bytesPerSample, toDeviceAudio } from './toDeviceAudio';
import { verifyWake } from './verifyWake';
import {
  acceptAllVerifier,
  silentLogger,
  type Logger,
  type Phase,
  type SessionEvent,
  type Utterance,
  type UtteranceReport,
  type WakeVerifier,
} from './types';

/** Instrumentation points (benchmarks, dashboards); called synchronously, must not throw. */
export interface SessionHooks {
  /** Every decoded uplink frame, as it arrives. */
  uplinkFrame?(frame: Frame, at: number): void;
  /** An utterance is complete (its last missing frame arrived). */
  utteranceComplete?(utterance: Utterance, at: number): void;
  /** The voice request is being sent. */
  serviceRequest?(request: VoiceRequest, at: number): void;
  /** First reply audio of a reply arrived from the service. */
  firstReplyAudio?(at: number): void;
  /** A PLAY frame is being written (first: the first of its reply). */
  playFrame?(frame: PlayFrame, first: boolean, at: number): void;
}

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
  /** Re-NACK period for gaps (default 150 ms) and ACK every N frames (default 8). */
  nackIntervalMs?: number;
  ackEveryFrames?: number;
  /** PLAY frames before the first CREDIT (default 4) and credit stall timeout (default 5000 ms). */
  playInitialWindow?: number;
  playStallMs?: number;
  hooks?: SessionHooks;
}

interface Negotiated {
  payloadSize: number;
  codec: number;
  sampleRate: number;
  board: string;
  nonce: number;
  ringFrames: number;
}

/** Work for one accepted utterance: verification, voice request, playback. */
interface Reply {
  report: UtteranceReport;
  sub: Subscription;
  stream: number;
  progress: PlaybackProgress;
  playStarted: boolean;
  ended: boolean;
}

function errorText(e: unknown): string {
  if (e instanceof VoiceError) return `${e.kind}${e.status ? ` ${e.status}` : ''}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Decode device-codec bytes to s16 for the voice service. */
export function utteranceToS16(utterance: Utterance): Int16Array {
  return utterance.codec === Codec.PCM_S16LE ? s16FromLE(utterance.samples) : u8ToS16(utterance.samples);
}

export function runSession(
  connections$: Observable<Connection>,
  options: SessionOptions,
): Observable<SessionEvent> {
  const deviceId = options.deviceId;
  const log = options.logger ?? silentLogger;
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => performance.now());
  const hooks = options.hooks ?? {};
  const verifier = options.verifier ?? acceptAllVerifier;
  const keepAliveMs = options.keepAliveMs ?? SESSION_DEFAULTS.keepAliveMs;
  const keepAliveTimeoutMs =
    options.keepAliveTimeoutMs ?? keepAliveMs * SESSION_DEFAULTS.keepAliveTimeoutFactor;
  const helloTimeoutMs = options.helloTimeoutMs ?? SESSION_DEFAULTS.helloTimeoutMs;
  const timeouts = { ...SESSION_DEFAULTS.timeouts, ...options.timeouts };

  return new Observable<SessionEvent>((subscriber) => {
    const subs = new Subscription();
    const emit = (event: SessionEvent): void => subscriber.next(event);
    const fields = (extra?: Record<string, unknown>): Record<string, unknown> => ({
      device: deviceId,
      ...extra,
    });

    let conn: Connection | undefined;
    let writeChain: Promise<void> = Promise.resolve();
    let writeFailures = 0;
    /** The connection the last HELLO came on. */
    let helloConn: Connection | undefined;
    /** Set when a connection's HELLO was read, not notified: its first notified repeat is expected. */
    let readHelloConn: Connection | undefined;
    let negotiated: Negotiated | undefined;
    let phase: Phase = 'handshake';
    let controlSeq = 0;
    let playStream = 0;
    let reply: Reply | undefined;
    /** Reports of utterances still being received / verified, by stream. */
    let pending: UtteranceReport | undefined;

    // ---- downlink -------------------------------------------------------------------------------
    const send = (frame: Frame): void => {
      const c = conn;
      if (!c) return;
      const isStreamFrame = frame.type === FrameType.PLAY || frame.type === FrameType.PLAY_END;
      const stamped: Frame = isStreamFrame ? frame : { ...frame, seq: controlSeq };
      if (!isStreamFrame) controlSeq = (controlSeq + 1) & 0xffff;
      const encoded = encodeFrame(stamped, negotiated?.payloadSize ?? c.payloadSize);
      if (!encoded.ok) {
        log.log(
          'error',
          `bug: cannot encode ${frameTypeName(frame.type)}: ${encoded.error.message}`,
          fields(),
        );
        return;
      }
      writeChain = writeChain
        .then(() => (conn === c ? c.write(encoded.bytes) : undefined))
        .catch((e: unknown) => {
          // A dying link fails every queued write: say so once, then every 100th.
          if (writeFailures++ % 100 === 0) {
            log.log(
              'warn',
              `write of ${frameTypeName(frame.type)} failed: ${errorText(e)} (${writeFailures} so far)`,
              fields(),
            );
          }
        });
    };

    // ---- state machine --------------------------------------------------------------------------
    const inputs = new Subject<SessionInput>();
    subs.add(
      inputs.pipe(sessionState({ timeouts, scheduler })).subscribe((change) => {
        phase = change.to;
        if (change.state !== undefined) {
          send({ type: FrameType.STATE, stream: 0, seq: 0, state: change.state, detail: change.detail });
        }
        log.log(
          change.state === AssistantState.ERROR ? 'warn' : 'debug',
          `${change.from} → ${change.to} (${change.cause})`,
          fields(),
        );
        emit({ kind: 'phase', deviceId, change });
        if (change.cause.startsWith('timeout')) onTimeout(change.from);
      }),
    );

    // ---- reports --------------------------------------------------------------------------------
    const finishReport = (
      report: UtteranceReport,
      outcome: UtteranceReport['outcome'],
      error?: string,
    ): void => {
      if (report.timings.playbackEnd === undefined && report.timings.firstPlay !== undefined) {
        report.timings.playbackEnd = now() - wakeBase(report);
      }
      report.outcome = outcome;
      if (error) report.error = error;
      emit({ kind: 'utterance', deviceId, report });
    };
    const wakeAt = new WeakMap<UtteranceReport, number>();
    const wakeBase = (report: UtteranceReport): number => wakeAt.get(report) ?? now();
    const stamp = (report: UtteranceReport, stage: keyof UtteranceReport['timings'], at = now()): void => {
      if (report.timings[stage] === undefined) report.timings[stage] = Math.max(0, at - wakeBase(report));
    };

    // ---- replies --------------------------------------------------------------------------------
    /** End the reply in flight: unsubscribe, PLAY_END as needed, barge-in truncation. */
    const endReply = (why: 'cancelled' | 'error' | 'aborted', error?: string): void => {
      const r = reply;
      if (!r || r.ended) return;
      r.ended = true;
      reply = undefined;
      r.sub.unsubscribe();
      if (r.playStarted) {
        send({
          type: FrameType.PLAY_END,
          stream: r.stream,
          seq: r.progress.nextSeq,
          reason: why === 'error' ? PlayEndReason.ERROR : PlayEndReason.CANCELLED,
          lastSeq: r.progress.lastSeq ?? 0xffff,
          totalSamples: r.progress.samplesSent,
        });
        if (why === 'cancelled' && negotiated) {
          const heardMs = Math.round((r.progress.samplesPlayed * 1000) / negotiated.sampleRate);
          options.voice.truncate(deviceId, heardMs).catch((e: unknown) => {
            log.log('warn', `voice truncate failed: ${errorText(e)}`, fields());
          });
          log.log('info', `barge-in: playback cut after ${heardMs} ms heard`, fields());
        }
      }
      finishReport(r.report, why, error);
    };

    const startReply = (utterance: Utterance, report: UtteranceReport): void => {
      endReply('cancelled');
      const n = negotiated;
      if (!n) return;
      playStream = (playStream % 255) + 1;
      const progress: PlaybackProgress = { nextSeq: 0, lastSeq: undefined, samplesSent: 0, samplesPlayed: 0 };
      const r: Reply = {
        report,
        sub: new Subscription(),
        stream: playStream,
        progress,
        playStarted: false,
        ended: false,
      };
      reply = r;
      const bps = bytesPerSample(n.codec);
      const voiceStream = new Observable<VoiceEvent>((s) => {
        const request: VoiceRequest = {
          deviceId,
          audio: utteranceToS16(utterance),
          sampleRate: utterance.sampleRate,
        };
        stamp(report, 'serviceRequest');
        hooks.serviceRequest?.(request, now());
        let first = true;
        return options.voice.respond(request).subscribe({
          next: (event) => {
            if (event.kind === 'audio' && first && event.pcm.length > 0) {
              first = false;
              stamp(report, 'firstReplyAudio');
              hooks.firstReplyAudio?.(now());
            } else if (event.kind === 'transcript' && event.final) {
              report.transcript[event.role] = event.text;
              log.log('info', `${event.role}: ${event.text}`, fields({ role: event.role }));
            }
            s.next(event);
          },
          error: (e: unknown) => s.error(e),
          complete: () => s.complete(),
        });
      });
      r.sub.add(
        voiceStream
          .pipe(
            toDeviceAudio({ codec: n.codec, sampleRate: n.sampleRate }),
            packetize(n.payloadSize - HEADER_BYTES, bps),
            pacePlayback({
              stream: r.stream,
              firstSeq: 0,
              feedback$: feedback$,
              bytesPerSample: bps,
              initialWindow: options.playInitialWindow ?? SESSION_DEFAULTS.playInitialWindow,
              stallMs: options.playStallMs ?? SESSION_DEFAULTS.playStallMs,
              drainMarginMs: SESSION_DEFAULTS.playDrainMarginMs,
              sampleRate: n.sampleRate,
              scheduler,
              progress,
            }),
          )
          .subscribe({
            next: (out) => {
              if (out.kind === 'frame') {
                if (out.frame.type === FrameType.PLAY) {
                  const first = !r.playStarted;
                  if (first) {
                    r.playStarted = true;
                    inputs.next({ kind: 'reply-audio' });
                    stamp(report, 'firstPlay');
                  }
                  hooks.playFrame?.(out.frame, first, now());
                  report.replySamples = progress.samplesSent;
                  send(out.frame);
                } else if (r.playStarted) {
                  send(out.frame);
                }
              } else if (out.kind === 'played') {
                inputs.next({ kind: 'activity' });
              } else {
                r.ended = true;
                reply = undefined;
                if (!out.drained) log.log('warn', 'device never reported the end of playback', fields());
                stamp(report, 'playbackEnd');
                report.replySamples = out.totalSamples;
                finishReport(report, 'complete');
                inputs.next({ kind: 'reply-done' });
              }
            },
            error: (e: unknown) => {
              const text = errorText(e);
              log.log('error', `voice reply failed (${options.voice.name}): ${text}`, fields());
              endReply('error', text);
              inputs.next({ kind: 'error', detail: 0, reason: text });
            },
          }),
      );
    };

    const verifierSub = new Subscription();
    subs.add(verifierSub);
    const onUtterance = (utterance: Utterance, report: UtteranceReport): void => {
      verifierSub.add(
        new Observable<Utterance>((s) => {
          s.next(utterance);
          s.complete();
        })
          .pipe(
            verifyWake(verifier, {
              onError: (e) => log.log('warn', `wake verifier failed, accepting: ${errorText(e)}`, fields()),
            }),
          )
          .subscribe(({ verdict }) => {
            if (pending !== report) return; // superseded by a newer utterance
            pending = undefined;
            report.verdict = verdict;
            stamp(report, 'verified');
            send({
              type: FrameType.GATE,
              stream: utterance.stream,
              seq: 0,
              verdict: verdict.accept ? Verdict.ACCEPT : Verdict.REJECT,
              reason: 0,
            });
            inputs.next({ kind: 'verdict', accept: verdict.accept });
            if (!verdict.accept) {
              // The stream is complete (and ACKed past END) by now; should it not be, let it go.
              uplink$.next({ kind: 'abandon', stream: utterance.stream });
              log.log('info', `wake rejected by verifier (score ${verdict.score})`, fields());
              finishReport(report, 'rejected');
              return;
            }
            startReply(utterance, report);
          }),
      );
    };

    // ---- uplink ---------------------------------------------------------------------------------
    const uplink$ = new Subject<ReassemblyInput>();
    const feedback$ = new Subject<CreditFrame | AckFrame>();
    const status$ = new Subject<Frame>();

    subs.add(
      uplink$
        .pipe(
          reassemble({
            deviceId,
            scheduler,
            nackIntervalMs: options.nackIntervalMs ?? SESSION_DEFAULTS.nackIntervalMs,
            ackEveryFrames: options.ackEveryFrames ?? SESSION_DEFAULTS.ackEveryFrames,
            payloadSize: () => (negotiated ? negotiated.payloadSize : MIN_PAYLOAD),
            window: () =>
              negotiated && negotiated.ringFrames > 0 ? negotiated.ringFrames : SESSION_DEFAULTS.window,
          }),
        )
        .subscribe((out: ReassemblyOutput) => onReassembly(out)),
    );
    subs.add(
      status$
        .pipe(statusMetrics(deviceId))
        .subscribe((metrics) => emit({ kind: 'status', deviceId, metrics })),
    );

    const onReassembly = (out: ReassemblyOutput): void => {
      switch (out.kind) {
        case 'send':
          send(out.frame);
          return;
        case 'progress':
          inputs.next({ kind: 'activity' });
          return;
        case 'started': {
          if (phase === 'thinking' || phase === 'speaking' || phase === 'verifying') {
            if (reply) endReply('cancelled');
          }
          if (pending) finishReport(pending, 'aborted', 'superseded by a new utterance');
          const report: UtteranceReport = {
            deviceId,
            stream: out.stream,
            trigger: out.wake?.trigger,
            samples: 0,
            durationMs: 0,
            recovered: 0,
            lost: 0,
            replySamples: 0,
            outcome: 'aborted',
            timings: { wake: 0 },
            transcript: {},
          };
          wakeAt.set(report, out.at);
          pending = report;
          inputs.next({ kind: 'wake' });
          return;
        }
        case 'complete': {
          const u = out.utterance;
          hooks.utteranceComplete?.(u, u.completedAt);
          const report = pending;
          if (!report || report.stream !== u.stream) return;
          report.samples = u.samples.length / bytesPerSample(u.codec);
          report.durationMs = (report.samples * 1000) / u.sampleRate;
          report.recovered = u.recovered;
          report.lost = u.lost;
          if (u.lost > 0)
            log.log(
              'warn',
              `utterance ${u.stream}: ${u.lost} frame(s) lost for good (device ring overflowed)`,
              fields(),
            );
          report.trigger = u.wake.trigger;
          stamp(report, 'utteranceEnd', u.completedAt);
          inputs.next({ kind: 'utterance-complete' });
          if (u.endReason === EndReason.CANCELLED || report.samples === 0) {
            pending = undefined;
            inputs.next({ kind: 'abort', reason: 'device cancelled the utterance' });
            finishReport(report, 'aborted', 'cancelled by the device');
            return;
          }
          onUtterance(u, report);
          return;
        }
        case 'dropped': {
          const lost = out.lost.reduce((n, g) => n + g.count, 0);
          const why = `${out.reason}${lost ? `; ${lost} frame(s) never recovered` : ''}`;
          log.log('warn', `utterance ${out.stream} dropped: ${why}`, fields({ lost: out.lost }));
          if (pending && pending.stream === out.stream) {
            const report = pending;
            pending = undefined;
            inputs.next({ kind: 'abort', reason: out.reason });
            finishReport(report, 'aborted', why);
          }
          return;
        }
      }
    };

    const onTimeout = (from: Phase): void => {
      if (from === 'utterance' || from === 'verifying') {
        const report = pending;
        if (report) {
          pending = undefined;
          // PROTOCOL.md §6 "Letting go": GATE CANCEL stops the device's capture; the abandon sends one
          // ACK past everything received (past END if it came), and every later frame of the stream
          // (the END the device sends in answer) gets an ACK past it. No ACK is repeated on a timer.
          send({ type: FrameType.GATE, stream: report.stream, seq: 0, verdict: Verdict.CANCEL, reason: 0 });
          uplink$.next({ kind: 'abandon', stream: report.stream });
          finishReport(report, 'aborted', `timeout in ${from}`);
        }
      } else if (from === 'thinking' || from === 'speaking') {
        endReply('error', `timeout in ${from}`);
      }
    };

    const onHello = (hello: HelloFrame, c: Connection): void => {
      if (hello.protoMajor !== PROTOCOL_MAJOR) {
        log.log(
          'error',
          `device speaks protocol ${hello.protoMajor}.${hello.protoMinor}, host ${PROTOCOL_MAJOR}.${PROTOCOL_MINOR}: update one of them`,
          fields(),
        );
        send({
          type: FrameType.ERROR,
          stream: 0,
          seq: 0,
          code: ErrorCode.UNSUPPORTED_VERSION,
          fault: Fault.UNSUPPORTED,
          refType: FrameType.HELLO,
          message: `host speaks ${PROTOCOL_MAJOR}.${PROTOCOL_MINOR}`,
        });
        // PROTOCOL.md §5: then disconnect (after the ERROR is written).
        void writeChain.then(() => c.disconnect()).catch(() => undefined);
        return;
      }
      const payloadSize = Math.max(MIN_PAYLOAD, Math.min(hello.maxPayload, c.payloadSize, MAX_PAYLOAD));
      const codec = hello.codecs & Codec.PCM_U8 ? Codec.PCM_U8 : Codec.PCM_S16LE;
      const welcome: Frame = {
        type: FrameType.WELCOME,
        stream: 0,
        seq: 0,
        protoMajor: PROTOCOL_MAJOR,
        protoMinor: PROTOCOL_MINOR,
        payloadSize,
        codec,
        sampleRate: hello.sampleRate,
        keepAliveMs,
        nonce: hello.nonce, // echoed (PROTOCOL.md §WELCOME)
      };
      if (helloConn === c && negotiated?.nonce === hello.nonce) {
        if (readHelloConn === c) {
          // The HELLO we read was answered; this is the device's retry, sent before our WELCOME
          // reached it. Not answered twice (a second WELCOME renegotiates); a later retry is.
          readHelloConn = undefined;
          log.log('debug', 'HELLO repeated after the one read at connect: already welcomed', fields());
          return;
        }
        // The device repeated HELLO before our WELCOME reached it: answer again, nothing else changes.
        send(welcome);
        return;
      }
      readHelloConn = undefined;
      helloConn = c;
      const resumed = negotiated !== undefined && negotiated.nonce === hello.nonce && phase === 'handshake';
      const rebooted = negotiated !== undefined && negotiated.nonce !== hello.nonce;
      negotiated = {
        payloadSize,
        codec,
        sampleRate: hello.sampleRate,
        board: hello.board,
        nonce: hello.nonce,
        ringFrames: hello.ringFrames,
      };
      send(welcome);
      if (rebooted) {
        endReply('aborted', 'device restarted');
        // Its streams are gone and its ids start over: forget them without ACKing any.
        uplink$.next({ kind: 'reset' });
        if (pending) {
          const report = pending;
          pending = undefined;
          finishReport(report, 'aborted', 'device restarted');
        }
      }
      log.log(
        'info',
        `${resumed ? 'resumed' : 'session'} with ${hello.board} (payload ${payloadSize} B, ${hello.sampleRate} Hz ${codec === Codec.PCM_U8 ? 'u8' : 's16'})`,
        fields(),
      );
      emit({ kind: 'hello', deviceId, board: hello.board, payloadSize, sampleRate: hello.sampleRate, codec });
      // An utterance still being received may resume (PROTOCOL.md §5): listen for it again, with
      // the utterance timeout armed in case the device dropped it.
      inputs.next(
        resumed
          ? {
              kind: 'resume',
              to: pending && pending.timings.utteranceEnd === undefined ? 'utterance' : 'idle',
            }
          : { kind: 'hello' },
      );
      if (resumed) uplink$.next({ kind: 'resync' });
    };

    const onFrame = (frame: Frame, c: Connection): void => {
      hooks.uplinkFrame?.(frame, now());
      switch (frame.type) {
        case FrameType.HELLO:
          onHello(frame, c);
          return;
        case FrameType.WAKE:
        case FrameType.AUDIO:
        case FrameType.END:
          uplink$.next({ kind: 'frame', frame, at: now() });
          return;
        case FrameType.CREDIT:
        case FrameType.ACK:
        case FrameType.NACK:
          if (frame.type === FrameType.CREDIT) inputs.next({ kind: 'activity' });
          feedback$.next(frame);
          return;
        case FrameType.PLAY_END:
          // The device cut playback itself (barge-in on the earbud): remember what was heard.
          if (reply && frame.stream === reply.stream && frame.totalSamples > reply.progress.samplesPlayed) {
            reply.progress.samplesPlayed = Math.min(frame.totalSamples, reply.progress.samplesSent);
          }
          return;
        case FrameType.STATUS:
          status$.next(frame);
          return;
        case FrameType.LOG:
          emit({ kind: 'device-log', deviceId, level: frame.level, text: frame.text });
          return;
        case FrameType.ERROR:
          log.log(
            'warn',
            `device error ${frame.code} (${frameTypeName(frame.refType)}): ${frame.message}`,
            fields(),
          );
          return;
        case FrameType.STATE:
        case FrameType.PING:
        case FrameType.PONG:
        case FrameType.CONFIG:
          return;
        default:
          log.log('warn', `unexpected ${frameTypeName(frame.type)} from the device`, fields());
      }
    };

    // ---- HELLO read at connect ------------------------------------------------------------------
    /**
     * The device notifies HELLO as the central connects, before we subscribed: that one is lost, and
     * its retry comes only 1 s later (time the device's ring may not have after a reconnect). The
     * uplink's readable value is the current HELLO (PROTOCOL.md §1, §5): read it once and take it as
     * if notified. Anything else there (or a failed read) is ignored: the notified HELLO still counts.
     */
    const readHello = (c: Connection): void => {
      if (!c.readUplink) return;
      c.readUplink().then(
        (bytes) => {
          if (conn !== c || helloConn === c) return; // gone, or a notified HELLO came first
          const r = decodeFrame(bytes);
          if (!r.ok) {
            log.log('debug', `uplink read is not a frame (${r.error.message}): ignored`, fields());
            return;
          }
          if (r.frame.type !== FrameType.HELLO) {
            log.log(
              'debug',
              `uplink read holds ${frameTypeName(r.frame.type)}, not HELLO: ignored`,
              fields(),
            );
            return;
          }
          onFrame(r.frame, c);
          if (helloConn === c) readHelloConn = c; // welcomed: its first notified repeat is expected
        },
        (e: unknown) => {
          if (conn === c)
            log.log('debug', `uplink read failed (${errorText(e)}): waiting for HELLO`, fields());
        },
      );
    };

    // ---- connections ----------------------------------------------------------------------------
    let connSub: Subscription | undefined;
    const detach = (c: Connection): void => {
      if (conn !== c) return;
      conn = undefined;
      connSub?.unsubscribe();
      connSub = undefined;
      // A reply cannot survive the link (the device's playback state is gone); an utterance can:
      // the device keeps its ring and the gaps are NACKed after the reconnect.
      endReply('aborted', 'link lost');
      inputs.next({ kind: 'disconnect' });
    };
    subs.add(
      connections$.subscribe({
        next: (c) => {
          if (conn) detach(conn);
          conn = c;
          writeChain = Promise.resolve();
          writeFailures = 0;
          const cs = new Subscription();
          connSub = cs;
          const frames$ = c.frames$.pipe(
            deframe((error, bytes) => {
              log.log(
                'warn',
                `dropped a bad frame from the device: ${error.message}`,
                fields({ code: error.code, fault: error.fault, bytes: bytes.length }),
              );
              // PROTOCOL.md §8: answer with ERROR and keep the link; never answer an ERROR with ERROR.
              const refType = bytes.length > 0 ? (bytes[0] as number) : 0;
              if (refType === FrameType.ERROR) return;
              const room = (negotiated?.payloadSize ?? MIN_PAYLOAD) - 7;
              send({
                type: FrameType.ERROR,
                stream: 0,
                seq: 0,
                code: error.code,
                fault: error.fault,
                refType,
                message: error.message.replace(/[^\x20-\x7e]/g, '?').slice(0, Math.max(0, room)),
              });
            }),
            share(),
          );
          cs.add(
            frames$
              .pipe(keepAlive({ intervalMs: keepAliveMs, timeoutMs: keepAliveTimeoutMs, scheduler }))
              .subscribe({
                next: (ping) => send(ping),
                error: (e: unknown) => {
                  log.log('warn', `${errorText(e)}: disconnecting`, fields());
                  c.disconnect().catch(() => undefined);
                  detach(c);
                },
              }),
          );
          cs.add(frames$.subscribe({ next: (f) => onFrame(f, c), complete: () => detach(c) }));
          readHello(c);
          // PROTOCOL.md §5: no HELLO soon after subscribing → disconnect (the caller reconnects).
          if (helloTimeoutMs > 0) {
            cs.add(
              scheduler.schedule(() => {
                if (conn !== c || helloConn === c) return;
                log.log('warn', `no HELLO within ${helloTimeoutMs} ms: disconnecting`, fields());
                c.disconnect().catch(() => undefined);
                detach(c);
              }, helloTimeoutMs),
            );
          }
          cs.add(c.closed$.subscribe(() => detach(c)));
        },
        error: (e: unknown) => log.log('error', `no more connections: ${errorText(e)}`, fields()),
      }),
    );

    return () => {
      endReply('aborted', 'session closed');
      subs.unsubscribe();
      connSub?.unsubscribe();
      inputs.complete();
    };
  });
}
