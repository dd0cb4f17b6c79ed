/**
 * The bridge: one Link, one VoiceService, N earbuds. For each device a persistent connection
 * (reconnect with backoff, host/link/src/reconnect.ts) feeds a pipeline session
 * (host/src/pipeline/session.ts). Per-utterance stage timings (wake → end of utterance → service
 * request → first reply audio → first PLAY → playback end) are collected in `reports` and emitted.
 */
import { printable } from '../pipeline/printable';
import { Observable, Subject, Subscription, defer, tap, type SchedulerLike } from 'rxjs';
import {
  reconnecting,
  type BackoffPolicy,
  type Connection,
  type DisconnectReason,
  type Link,
} from '@budlink/link';
import { runSession, type SessionOptions } from '../pipeline/session';
import { rateLimitedLogger } from '../pipeline/rate-limit';
import { endReasonName, reportForJson, triggerName } from '../pipeline/report-names';
import { SESSION_DEFAULTS } from '../defaults';
import {
  silentLogger,
  type DeviceMetrics,
  type Logger,
  type Phase,
  type SessionHooks,
  type SessionEvent,
  type UtteranceReport,
  type WakeVerifier,
} from '../pipeline/types';
import type { VoiceService } from '../voice/types';
import { Resampler } from '@budlink/protocol/audio';

/** Utterance reports kept in Bridge.reports (oldest dropped first). */
export const MAX_REPORTS = 1000;

export type BridgeEvent =
  | SessionEvent
  | { kind: 'connected'; deviceId: string; payloadSize: number; name: string }
  | { kind: 'disconnected'; deviceId: string; reason: DisconnectReason }
  | { kind: 'device-error'; deviceId: string; message: string };

/** The session settings a bridge applies to every device (documented on SessionOptions). */
export type BridgeSessionOptions = Pick<
  SessionOptions,
  | 'keepAliveMs'
  | 'keepAliveTimeoutMs'
  | 'helloTimeoutMs'
  | 'timeouts'
  | 'maxUtteranceMs'
  | 'maxUtterancesPerMinute'
  | 'nackIntervalMs'
  | 'ackEveryFrames'
  | 'playInitialWindow'
  | 'playStallMs'
>;

export interface BridgeOptions {
  link: Link;
  voice: VoiceService;
  verifier?: WakeVerifier;
  logger?: Logger;
  session?: BridgeSessionOptions;
  reconnect?: BackoffPolicy;
  hooks?: SessionHooks;
  scheduler?: SchedulerLike;
  now?: () => number;
  /**
   * Reply sample rates to prepare for at session start (after HELLO, once per earbud rate): the
   * resampler's filter design (2–10 ms per rate pair, cached) and its first-run compilation then stay
   * off the first reply. Default REPLY_RATES_TO_WARM; [] disables.
   */
  warmRates?: readonly number[];
}

/** Rates voice services answer in: OpenAI pcm and Realtime (24 kHz), 16 kHz and 22.05 kHz TTS servers. */
export const REPLY_RATES_TO_WARM: readonly number[] = [24000, 16000, 22050];

const warmedPairs = new Set<string>();

/**
 * Design (and run once) the resampler for each `fromRates` → `deviceRate` pair not done yet in this
 * process; the kernels are cached by the audio module, so the pipeline's Resampler for the first
 * reply finds them ready. Returns how many pairs were prepared now.
 */
export function warmReplyPath(
  deviceRate: number,
  fromRates: readonly number[] = REPLY_RATES_TO_WARM,
): number {
  let n = 0;
  const probe = new Int16Array(480);
  for (const from of fromRates) {
    const key = `${String(from)}>${String(deviceRate)}`;
    if (from === deviceRate || warmedPairs.has(key)) continue;
    try {
      const r = new Resampler(from, deviceRate);
      r.push(probe);
      r.flush();
      warmedPairs.add(key);
      n++;
    } catch {
      // An unusable rate: the reply path will report it when it meets it.
    }
  }
  return n;
}

export interface DeviceStatus {
  deviceId: string;
  connected: boolean;
  phase: Phase;
  board?: string;
  payloadSize?: number;
  connections: number;
  metrics?: DeviceMetrics;
  utterances: number;
}

interface DeviceEntry {
  status: DeviceStatus;
  sub: Subscription;
  /** This earbud's lines, rate-limited (SESSION_DEFAULTS.logBurst / logPerSecond). */
  log: Logger;
  current?: Connection;
}

export class Bridge {
  readonly events$: Observable<BridgeEvent>;
  readonly reports: UtteranceReport[] = [];
  private readonly events = new Subject<BridgeEvent>();
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly log: Logger;
  private stopped = false;

  /** Pending warm-ups (cleared by stop()). */
  private readonly warmTimers = new Set<NodeJS.Immediate>();

  constructor(private readonly options: BridgeOptions) {
    this.events$ = this.events.asObservable();
    this.log = options.logger ?? silentLogger;
  }

  /** Start relaying for a device (idempotent). Connects in the background and keeps reconnecting. */
  addDevice(deviceId: string): void {
    if (this.stopped) throw new Error('bridge stopped');
    if (this.devices.has(deviceId)) return;
    const status: DeviceStatus = {
      deviceId,
      connected: false,
      phase: 'handshake',
      connections: 0,
      utterances: 0,
    };
    const now = this.options.now ?? (() => performance.now());
    const log = rateLimitedLogger(this.log, {
      burst: SESSION_DEFAULTS.logBurst,
      perSecond: SESSION_DEFAULTS.logPerSecond,
      now,
    });
    const entry: DeviceEntry = { status, sub: new Subscription(), log };
    this.devices.set(deviceId, entry);
    const o = this.options;
    const policy = o.reconnect ?? {};
    const connect = this.connector(deviceId, log);
    const connections$ = defer(() => reconnecting(connect, policy)).pipe(
      tap({
        next: (c) => {
          entry.current = c;
          status.connected = true;
          status.connections++;
          log.log(
            'info',
            `connected to ${c.device.name || deviceId} (${deviceId}), payload ${c.payloadSize} B`,
            {
              device: deviceId,
            },
          );
          this.events.next({ kind: 'connected', deviceId, payloadSize: c.payloadSize, name: c.device.name });
          // The earbud's console (Nordic UART: Espruino prints, errors) goes to the debug log.
          c.console$.subscribe({
            next: (line) => log.log('debug', `console: ${line}`, { device: deviceId }),
            error: () => undefined,
          });
          c.closed$.subscribe((reason) => {
            if (entry.current !== c) return;
            entry.current = undefined;
            status.connected = false;
            if (!this.stopped) {
              log.log('warn', `lost ${deviceId} (${reason})${reason === 'local' ? '' : ', reconnecting'}`, {
                device: deviceId,
              });
            }
            this.events.next({ kind: 'disconnected', deviceId, reason });
          });
        },
        error: (e: unknown) => {
          const message = e instanceof Error ? e.message : String(e);
          log.log('error', `giving up on ${deviceId}: ${message}`, { device: deviceId });
          this.events.next({ kind: 'device-error', deviceId, message });
        },
      }),
    );
    const sessionOptions: SessionOptions = {
      deviceId,
      voice: o.voice,
      verifier: o.verifier,
      logger: log,
      scheduler: o.scheduler,
      now: o.now,
      hooks: o.hooks,
      ...o.session,
    };
    entry.sub.add(
      runSession(connections$, sessionOptions).subscribe({
        next: (event) => {
          if (event.kind === 'phase') status.phase = event.change.to;
          else if (event.kind === 'hello') {
            status.board = event.board;
            status.payloadSize = event.payloadSize;
            this.warmFor(event.sampleRate);
          } else if (event.kind === 'status') status.metrics = event.metrics;
          else if (event.kind === 'utterance') {
            status.utterances++;
            this.reports.push(event.report);
            if (this.reports.length > MAX_REPORTS) this.reports.splice(0, this.reports.length - MAX_REPORTS);
            this.logReport(log, event.report);
          } else if (event.kind === 'device-log') {
            log.log(
              event.level >= 3 ? 'error' : event.level === 2 ? 'warn' : 'debug',
              `device: ${printable(event.text)}`,
              { device: deviceId },
            );
          }
          this.events.next(event);
        },
        error: (e: unknown) => {
          log.log('error', `session for ${deviceId} failed: ${e instanceof Error ? e.message : String(e)}`, {
            device: deviceId,
          });
        },
      }),
    );
  }

  /**
   * One connect attempt to `deviceId` at a time (the reconnect policy retries): it says why the
   * earbud is not connecting at once, then every 10th attempt.
   */
  private connector(deviceId: string, log: Logger): () => Promise<Connection> {
    const o = this.options;
    const timeoutMs = o.reconnect?.connectTimeoutMs;
    let failures = 0;
    return () =>
      o.link.connect(deviceId, timeoutMs !== undefined ? { timeoutMs } : undefined).then(
        (c) => {
          failures = 0;
          return c;
        },
        (e: unknown) => {
          if (failures++ % 10 === 0) {
            const why = e instanceof Error ? e.message : String(e);
            log.log('warn', `cannot connect to ${deviceId} (attempt ${failures}): ${why}; retrying`, {
              device: deviceId,
            });
          }
          throw e;
        },
      );
  }

  /** Stop relaying for a device and disconnect it. */
  async removeDevice(deviceId: string): Promise<void> {
    const entry = this.devices.get(deviceId);
    if (!entry) return;
    this.devices.delete(deviceId);
    const c = entry.current;
    entry.sub.unsubscribe();
    if (c) await c.disconnect().catch(() => undefined);
  }

  status(): DeviceStatus[] {
    return [...this.devices.values()].map((e) => ({ ...e.status }));
  }

  /** Disconnect every device and complete events$. The link and voice service stay open (caller owns them). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.warmTimers) clearImmediate(t);
    this.warmTimers.clear();
    await Promise.all([...this.devices.keys()].map((id) => this.removeDevice(id)));
    this.events.complete();
  }

  /** Prepare the reply path for an earbud rate, after the WELCOME has gone out (next macrotask). */
  private warmFor(deviceRate: number): void {
    const rates = this.options.warmRates ?? REPLY_RATES_TO_WARM;
    if (rates.length === 0) return;
    const t = setImmediate(() => {
      this.warmTimers.delete(t);
      if (!this.stopped) warmReplyPath(deviceRate, rates);
    });
    this.warmTimers.add(t);
  }

  private logReport(log: Logger, r: UtteranceReport): void {
    const t = r.timings;
    const f = (v: number | undefined): string => (v === undefined ? '-' : `${Math.round(v)}`);
    const line =
      `utterance ${r.stream}: ${r.outcome}${r.error ? ` (${r.error})` : ''}, ${(r.durationMs / 1000).toFixed(2)} s` +
      `${r.trigger !== undefined ? `, ${triggerName(r.trigger) ?? ''}` : ''}` +
      `${r.endReason !== undefined ? ` to ${endReasonName(r.endReason) ?? ''}` : ''}` +
      `${r.recovered ? `, ${r.recovered} frames recovered` : ''}; ms from wake: end ${f(t.utteranceEnd)}, ` +
      `request ${f(t.serviceRequest)}, reply ${f(t.firstReplyAudio)}, play ${f(t.firstPlay)}, done ${f(t.playbackEnd)}`;
    log.log(r.outcome === 'complete' ? 'info' : 'warn', line, {
      device: r.deviceId,
      report: reportForJson(r),
    });
  }
}

/** Milliseconds between two stages of a report, or undefined. */
export function stageGap(
  r: UtteranceReport,
  from: keyof UtteranceReport['timings'],
  to: keyof UtteranceReport['timings'],
): number | undefined {
  const a = r.timings[from];
  const b = r.timings[to];
  return a === undefined || b === undefined ? undefined : b - a;
}
