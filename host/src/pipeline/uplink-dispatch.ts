/**
 * Where each uplink frame of a device session goes: HELLO to the handshake, utterance frames to
 * reassembly, CREDIT / ACK / NACK to the reply pacing, STATUS to the metrics, LOG and ERROR to the
 * log. And what follows from reassembly (a new utterance, a complete one, a dropped one), from wake
 * verification (GATE) and from a phase timeout.
 */
import { printable } from './printable';
import { Observable, Subscription, type Subject } from 'rxjs';
import {
  Codec,
  EndReason,
  ErrorCode,
  Fault,
  FrameType,
  MIN_PAYLOAD,
  Verdict,
  frameTypeName,
  type AckFrame,
  type CreditFrame,
  type Frame,
  type HelloFrame,
  type ProtocolError,
} from '@budlink/protocol';
import type { Connection } from '@budlink/link';
import type { Downlink } from './downlink';
import { errorText } from './error-text';
import type { Handshake } from './handshake';
import type { TokenBucket } from './rate-limit';
import type { ReassemblyInput, ReassemblyOutput } from './reassemble';
import type { ReplyController } from './reply-controller';
import type { ReportTracker } from './report-tracker';
import type { SessionInput } from './session-state';
import { verifyWake } from './verify-wake';
import type {
  DeviceLog,
  Phase,
  SessionEvent,
  SessionHooks,
  Utterance,
  UtteranceReport,
  WakeVerifier,
} from './types';

export interface UplinkDispatchParts {
  deviceId: string;
  downlink: Downlink;
  handshake: Handshake;
  replies: ReplyController;
  reports: ReportTracker;
  verifier: WakeVerifier;
  /** The session state machine's input, and its current phase. */
  inputs: Subject<SessionInput>;
  phase: () => Phase;
  uplink$: Subject<ReassemblyInput>;
  feedback$: Subject<CreditFrame | AckFrame>;
  status$: Subject<Frame>;
  emit: (event: SessionEvent) => void;
  now: () => number;
  hooks: SessionHooks;
  log: DeviceLog;
  /** Utterances the voice service may still be asked about (undefined: no limit). */
  utteranceBudget?: TokenBucket;
}

export class UplinkDispatch {
  /** Wake verifications in flight. */
  readonly verifications = new Subscription();

  constructor(private readonly p: UplinkDispatchParts) {}

  /** A decoded uplink frame from connection `c`. */
  frame(frame: Frame, c: Connection): void {
    const p = this.p;
    p.hooks.uplinkFrame?.(frame, p.now());
    switch (frame.type) {
      case FrameType.HELLO:
        this.hello(frame, c);
        return;
      case FrameType.WAKE:
      case FrameType.AUDIO:
      case FrameType.END:
        // PROTOCOL.md §5: utterance frames come after WELCOME on this connection. One that does not
        // is neither used nor ACKed (an ACK would free the device's ring for audio never relayed);
        // the device keeps it and re-sends it once welcomed.
        if (!p.handshake.welcomed(c)) {
          this.notYet(frame);
          return;
        }
        p.uplink$.next({ kind: 'frame', frame, at: p.now() });
        return;
      case FrameType.CREDIT:
      case FrameType.ACK:
      case FrameType.NACK:
        if (frame.type === FrameType.CREDIT) p.inputs.next({ kind: 'activity' });
        p.feedback$.next(frame);
        return;
      case FrameType.PLAY_END:
        p.replies.devicePlayEnd(frame);
        return;
      case FrameType.STATUS:
        p.status$.next(frame);
        return;
      case FrameType.LOG:
        p.emit({ kind: 'device-log', deviceId: p.deviceId, level: frame.level, text: frame.text });
        return;
      case FrameType.ERROR:
        p.log(
          'warn',
          `device error ${frame.code} (${frameTypeName(frame.refType)}): ${printable(frame.message)}`,
        );
        return;
      case FrameType.STATE:
      case FrameType.PING:
      case FrameType.PONG:
      case FrameType.CONFIG:
        return;
      default:
        p.log('warn', `unexpected ${frameTypeName(frame.type)} from the device`);
    }
  }

  /** An utterance frame before this connection's HELLO: ERROR BAD_STATE, nothing else. */
  private notYet(frame: Frame): void {
    const p = this.p;
    p.log('warn', `${frameTypeName(frame.type)} before HELLO on this connection: refused`);
    p.downlink.send({
      type: FrameType.ERROR,
      stream: 0,
      seq: 0,
      code: ErrorCode.BAD_STATE,
      fault: Fault.PEER,
      refType: frame.type,
      message: 'no HELLO on this connection yet',
    });
  }

  /** Bytes that did not decode: PROTOCOL.md §8, answer with ERROR and keep the link; never ERROR an ERROR. */
  badBytes(error: ProtocolError, bytes: Uint8Array): void {
    const p = this.p;
    p.log('warn', `dropped a bad frame from the device: ${error.message}`, {
      code: error.code,
      fault: error.fault,
      bytes: bytes.length,
    });
    const refType = bytes.length > 0 ? (bytes[0] as number) : 0;
    if (refType === FrameType.ERROR) return;
    const room = (p.handshake.negotiated?.payloadSize ?? MIN_PAYLOAD) - 7;
    p.downlink.send({
      type: FrameType.ERROR,
      stream: 0,
      seq: 0,
      code: error.code,
      fault: error.fault,
      refType,
      message: error.message.replace(/[^\x20-\x7e]/g, '?').slice(0, Math.max(0, room)),
    });
  }

  /** What reassembly says. */
  reassembly(out: ReassemblyOutput): void {
    const p = this.p;
    switch (out.kind) {
      case 'send':
        p.downlink.send(out.frame);
        return;
      case 'progress':
        p.inputs.next({ kind: 'activity' });
        return;
      case 'started': {
        const phase = p.phase();
        if (phase === 'thinking' || phase === 'speaking' || phase === 'verifying') p.replies.end('cancelled');
        p.reports.open(out.stream, out.wake?.trigger, out.at);
        p.inputs.next({ kind: 'wake' });
        return;
      }
      case 'complete':
        this.complete(out.utterance);
        return;
      case 'dropped': {
        const why = `${out.reason}${out.lost ? `; ${out.lost} frame(s) never recovered` : ''}`;
        p.log('warn', `utterance ${out.stream} dropped: ${why}`, { lost: out.lost });
        if (out.cancel) this.cancelCapture(out.stream);
        const report = p.reports.take(out.stream);
        if (report) {
          p.inputs.next({ kind: 'abort', reason: out.reason });
          p.reports.finish(report, 'aborted', why);
        }
        return;
      }
    }
  }

  /** PROTOCOL.md §6 "Letting go": GATE CANCEL stops the device's capture of `stream`. */
  private cancelCapture(stream: number): void {
    this.p.downlink.send({ type: FrameType.GATE, stream, seq: 0, verdict: Verdict.CANCEL, reason: 0 });
  }

  /** A phase saw no activity for its timeout. */
  timeout(from: Phase): void {
    const p = this.p;
    if (from === 'utterance' || from === 'verifying') {
      const report = p.reports.take();
      if (report) {
        // The abandon sends one ACK past everything received (past END if it came), and every
        // later frame of the stream (the END the device sends in answer to the GATE CANCEL) gets an
        // ACK past it. No ACK is repeated on a timer.
        this.cancelCapture(report.stream);
        p.uplink$.next({ kind: 'abandon', stream: report.stream });
        p.reports.finish(report, 'aborted', `timeout in ${from}`);
      }
    } else if (from === 'thinking' || from === 'speaking') {
      p.replies.end('error', `timeout in ${from}`);
    }
  }

  private hello(hello: HelloFrame, c: Connection): void {
    const p = this.p;
    const outcome = p.handshake.hello(hello, c, p.phase());
    switch (outcome.kind) {
      case 'unsupported':
        p.log('error', outcome.why);
        p.downlink.send(outcome.error);
        p.downlink.disconnectAfterWrites(c); // PROTOCOL.md §5: then disconnect
        return;
      case 'already-welcomed':
        p.log('debug', 'HELLO repeated after the one read at connect: already welcomed');
        return;
      case 'welcome-again':
        p.downlink.send(outcome.welcome);
        return;
      case 'welcomed':
        break;
    }
    const { welcome, negotiated: n, resumed } = outcome;
    p.downlink.send(welcome);
    if (outcome.rebooted) {
      p.replies.end('aborted', 'device restarted');
      // Its streams are gone and its ids start over: forget them without ACKing any.
      p.uplink$.next({ kind: 'reset' });
      const report = p.reports.take();
      if (report) p.reports.finish(report, 'aborted', 'device restarted');
    }
    p.log(
      'info',
      `${resumed ? 'resumed' : 'session'} with ${n.board} (payload ${n.payloadSize} B, ${n.sampleRate} Hz ${n.codec === Codec.PCM_U8 ? 'u8' : 's16'})`,
    );
    p.emit({
      kind: 'hello',
      deviceId: p.deviceId,
      board: n.board,
      payloadSize: n.payloadSize,
      sampleRate: n.sampleRate,
      codec: n.codec,
    });
    // An utterance still being received may resume (PROTOCOL.md §5): listen for it again, with
    // the utterance timeout armed in case the device dropped it.
    p.inputs.next(
      resumed ? { kind: 'resume', to: p.reports.receiving() ? 'utterance' : 'idle' } : { kind: 'hello' },
    );
    if (resumed) p.uplink$.next({ kind: 'resync' });
  }

  private complete(u: Utterance): void {
    const p = this.p;
    p.hooks.utteranceComplete?.(u, u.completedAt);
    const report = p.reports.complete(u);
    if (!report) return;
    p.inputs.next({ kind: 'utterance-complete' });
    if (u.endReason === EndReason.CANCELLED || report.samples === 0) {
      p.reports.release(report);
      p.inputs.next({ kind: 'abort', reason: 'device cancelled the utterance' });
      p.reports.finish(report, 'aborted', 'cancelled by the device');
      return;
    }
    // Audio lost on the way (the earbud's ring overran, or frames it no longer held): a question cut
    // short gets a wrong answer, so it is not asked; the wearer hears the error and says it again.
    const lost = lostAudio(u);
    if (lost !== undefined) {
      this.refuse(u, report, 'error', lost);
      return;
    }
    if (p.utteranceBudget && !p.utteranceBudget.take()) {
      const why = `rate limited: more than ${p.utteranceBudget.burst} utterances a minute`;
      this.refuse(u, report, 'rejected', why);
      return;
    }
    this.verify(u, report);
  }

  /**
   * Answer GATE REJECT for a complete utterance the voice service will not hear, and report why: as
   * rejected (the wearer is told nothing), or as an error (STATE ERROR: the wearer is told).
   */
  private refuse(u: Utterance, report: UtteranceReport, outcome: 'rejected' | 'error', why: string): void {
    const p = this.p;
    p.reports.release(report);
    p.downlink.send({ type: FrameType.GATE, stream: u.stream, seq: 0, verdict: Verdict.REJECT, reason: 0 });
    p.inputs.next(
      outcome === 'error' ? { kind: 'error', detail: 0, reason: why } : { kind: 'verdict', accept: false },
    );
    p.uplink$.next({ kind: 'abandon', stream: u.stream });
    p.log('warn', `utterance ${u.stream} not relayed: ${why}`);
    p.reports.finish(report, outcome, why);
  }

  /** Re-check the wake, answer GATE, and start the reply when accepted. */
  private verify(utterance: Utterance, report: UtteranceReport): void {
    const p = this.p;
    const once = new Observable<Utterance>((s) => {
      s.next(utterance);
      s.complete();
    });
    const onError = (e: unknown): void => p.log('warn', `wake verifier failed, accepting: ${errorText(e)}`);
    this.verifications.add(
      once.pipe(verifyWake(p.verifier, { onError })).subscribe(({ verdict }) => {
        if (!p.reports.release(report)) return; // superseded by a newer utterance
        report.verdict = verdict;
        p.reports.stamp(report, 'verified');
        p.downlink.send({
          type: FrameType.GATE,
          stream: utterance.stream,
          seq: 0,
          verdict: verdict.accept ? Verdict.ACCEPT : Verdict.REJECT,
          reason: 0,
        });
        p.inputs.next({ kind: 'verdict', accept: verdict.accept });
        if (!verdict.accept) {
          // The stream is complete (and ACKed past END) by now; should it not be, let it go.
          p.uplink$.next({ kind: 'abandon', stream: utterance.stream });
          p.log('info', `wake rejected by verifier (score ${verdict.score})`);
          p.reports.finish(report, 'rejected');
          return;
        }
        p.replies.start(utterance, report, p.handshake.negotiated);
      }),
    );
  }
}

/** Why an utterance's audio is incomplete, or undefined when it is whole. */
function lostAudio(u: Utterance): string | undefined {
  if (u.endReason === EndReason.ERROR) return 'the earbud lost audio (END reason ERROR: its ring overran)';
  if (u.lost > 0) return `${u.lost} frame(s) of audio lost for good (the earbud no longer held them)`;
  return undefined;
}
