/**
 * Chaos soak on virtual time (4 simulated hours take about 10 s): a Bridge on an rxjs
 * VirtualTimeScheduler (its sessions and its reconnect policy) over the InProcessLink, four honest
 * scripted earbuds and one hostile one, each behind a lossy air (notifications and writes each lost at
 * a per-earbud rate drawn in 0–20 %; seeded, so a run replays). Per simulated hour: about 45
 * utterances per honest earbud (0.75 s, 27 frames), about 14 link drops per earbud (0.5–4 s out of
 * range), 2 "BlueZ restarts" (every peripheral gone for 4 s at once: only the link-level effect; the
 * real BlueZ restart path, D-Bus and all, is exercised by the e2e tests, not here), 2 reboots per
 * earbud (new HELLO nonce, ring emptied) and 12 voice-service faults (server / timeout /
 * rate-limited) on honest requests. The hostile earbud suffers all that too, and floods WAKEs, NACKs
 * each PLAY frame 20 times, leaps AUDIO seqs, sends oversize, empty and malformed frames and LOG spam.
 *
 * The scripted earbud follows the device rules: it holds each utterance until acknowledged and
 * re-sends its newest held frame every 400 ms (RTO); it sends HELLO every second until WELCOME and its
 * uplink reads as HELLO; stream frames wait for the connection's WELCOME (PROTOCOL.md §5).
 *
 * An honest utterance ends answered (`complete`), failed with its cause (an injected voice fault:
 * outcome `error`; or its reply cut by an injected drop: `aborted`, link lost, after the uplink was
 * complete: a reply cannot survive the link), or lost: no report, or any other outcome. "Within the
 * ring's capacity": the utterance (27 frames) fits the 64-frame ring and the earbud did not reboot
 * while holding it; one it did is counted apart (a reboot empties the ring).
 *
 *   reliability.soak_crashes               uncaught exceptions + unhandled rejections + sessions that
 *                                          failed or gave up (the bridge's error log), all phases
 *   reliability.soak_lost_utterances       lost within the ring's capacity (_lost_beyond_ring: beyond)
 *   reliability.soak_*_per_(earbud_)hour   the chaos actually injected (drops count a restart once
 *                                          per earbud); _bluez_restarts_unrecovered: restarts after
 *                                          which some earbud was not back past its handshake in 1 min
 *   reliability.soak_first_play_ms_p50/p99 answered honest utterances, wake → first PLAY (virtual ms;
 *                                          the voice service answers in 300 ms); clean_*: the same
 *                                          with no loss, chaos or hostile earbud (30 min)
 *   reliability.soak_rss_growth_mb         RSS after a full GC, hour 0.25 → end (_heap_growth_mb: V8
 *                                          heap), after a one-hour warm-up run: RSS climbs for the
 *                                          first seconds of wall time (JIT, allocator), heap flat
 *   reliability.replies_failed_at_20pct_loss  30 min, four honest earbuds at 20 % loss both ways, no
 *                                          faults: utterances not answered
 *   security.attack_rss_growth_mb          the hostile earbud alone, attacking every 5 s (twice as
 *                                          often) for 2 h: RSS growth after GC, minute 15 → end
 * SOAK_HOURS=0.5 npm run bench -- soak  for a quick check (default 4).
 */
import { Observable } from 'rxjs';
import {
  DOWNLINK_UUID,
  FrameType,
  SERVICE_UUID,
  UPLINK_UUID,
  decodeFrame,
  encodeFrame,
  type Frame,
} from '@budlink/protocol';
import { mulberry32 } from '@budlink/sim';
import { InProcessLink, type SimCentral, type SimPeripheral, type SimService } from '@budlink/link';
import { Bridge } from '../host/src/bridge/bridge';
import type { UtteranceReport } from '../host/src/pipeline/types';
import {
  VoiceError,
  type VoiceErrorKind,
  type VoiceEvent,
  type VoiceRequest,
  type VoiceService,
} from '../host/src/voice/types';
import { ScriptedEarbud, helloFrame, tapWakeFrame } from '@budlink/test-support/scripted-earbud';
import { VirtualTime } from '@budlink/test-support/virtual-time';
import { percentile } from './support/stats';
import { gcFn } from './support/gc';
import type { Bench } from './run';

const PAYLOAD = 244;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const TONE = Uint8Array.from({ length: PAYLOAD - 4 }, (_, i) => 128 + Math.round(40 * Math.sin(i / 3)));
const CHUNKS = Array.from({ length: 25 }, () => TONE); // 0.75 s: WAKE + 25 AUDIO + END = 27 frames

function bytesOf(f: Frame): Uint8Array {
  const r = encodeFrame(f, PAYLOAD);
  if (!r.ok) throw new Error(`soak: ${r.error.message}`);
  return r.bytes;
}

/** A scripted earbud as a SimPeripheral behind a lossy air; HELLO and PONG on virtual time. */
class SoakEarbud implements SimPeripheral {
  readonly name = 'soak earbud';
  earbud: ScriptedEarbud;
  nonce = 1;
  /** Out of range (removed from the link) for this many overlapping reasons. */
  absent = 0;
  /** Frames the host wrote that did not decode (a host bug). */
  badHostFrames = 0;
  private central: SimCentral | null = null;
  /** This connection's WELCOME arrived. */
  private welcomed = false;

  constructor(
    readonly address: string,
    public loss: number,
    private readonly rand: () => number,
    private readonly vt: VirtualTime,
    private readonly onHostFrame: (f: Frame) => void = () => undefined,
  ) {
    this.earbud = this.fresh();
  }

  private fresh(): ScriptedEarbud {
    // Stream frames wait in the ring until this connection's WELCOME (PROTOCOL.md §5): the RTO re-sends.
    return new ScriptedEarbud(
      (f) => {
        if (f.stream === 0 || this.welcomed) this.notify(bytesOf(f));
      },
      {
        maxPayload: PAYLOAD,
        nonce: this.nonce,
        instantSpeaker: true,
      },
    );
  }

  get connected(): boolean {
    return this.central !== null;
  }

  advertisedServices(): string[] {
    return [SERVICE_UUID];
  }

  services(): SimService[] {
    const uplink = { uuid: UPLINK_UUID, flags: ['notify', 'read'] };
    const downlink = { uuid: DOWNLINK_UUID, flags: ['write-without-response'] };
    return [{ uuid: SERVICE_UUID, characteristics: [uplink, downlink] }];
  }

  /** HELLO every second until WELCOME, at most 10 times (PROTOCOL.md §5); also readable on the uplink. */
  connect(central: SimCentral): void {
    this.central = central;
    this.welcomed = false;
    let n = 0;
    const hello = (): void => {
      if (this.central !== central || this.welcomed || n++ >= 10) return;
      this.earbud.hello();
      this.vt.scheduler.schedule(hello, SECOND);
    };
    this.vt.scheduler.schedule(hello, 5);
  }

  disconnect(): void {
    this.central = null;
  }

  read(): Uint8Array {
    return bytesOf(helloFrame(PAYLOAD, this.nonce));
  }

  write(_uuid: string, bytes: Uint8Array): void {
    if (this.rand() < this.loss) return;
    const r = decodeFrame(bytes);
    if (!r.ok) {
      this.badHostFrames++;
      return;
    }
    const f = r.frame;
    if (f.type === FrameType.WELCOME) this.welcomed = true;
    if (f.type === FrameType.PING)
      this.notify(bytesOf({ type: FrameType.PONG, stream: 0, seq: 0, token: f.token }));
    this.onHostFrame(f);
    this.earbud.hear(f);
  }

  /** A notification on air: lost at the loss rate, or while not connected. */
  notify(bytes: Uint8Array): void {
    if (this.central === null || this.rand() < this.loss) return;
    this.central.onNotify(UPLINK_UUID, bytes);
  }

  /** Power cycle: the link times out, the ring is gone, the next HELLO carries a new nonce. */
  reboot(): void {
    const c = this.central;
    this.central = null;
    c?.onDisconnect('power-cycle');
    const stream = this.earbud.stream;
    this.nonce++;
    this.earbud = this.fresh();
    this.earbud.stream = stream;
  }
}

/** Replies with a 0.5 s clip after 300 ms; fails the requests it was armed for (virtual time). */
class FaultyVoice implements VoiceService {
  readonly name = 'soak';
  readonly armed: VoiceErrorKind[] = [];
  injected = 0;
  private readonly clip = Int16Array.from({ length: 4000 }, (_, i) => Math.round(6000 * Math.sin(i / 5)));

  constructor(
    private readonly vt: VirtualTime,
    /** Whether a request may take a fault; told when it does. */
    private readonly faultable: (deviceId: string) => boolean,
    private readonly faulted: (deviceId: string, kind: VoiceErrorKind) => void,
  ) {}

  respond(r: VoiceRequest): Observable<VoiceEvent> {
    const kind = this.armed.length > 0 && this.faultable(r.deviceId) ? this.armed.shift() : undefined;
    if (kind !== undefined) {
      this.injected++;
      this.faulted(r.deviceId, kind);
    }
    return new Observable<VoiceEvent>((sub) => {
      const a = this.vt.scheduler.schedule(
        () => {
          if (kind !== undefined) {
            sub.error(new VoiceError(kind, `injected ${kind}`, kind === 'server' ? 503 : undefined));
            return;
          }
          sub.next({ kind: 'audio', pcm: this.clip, sampleRate: 8000 });
          sub.next({ kind: 'done' });
          sub.complete();
        },
        kind === 'timeout' ? 5 * SECOND : 300,
      );
      return () => a.unsubscribe();
    });
  }

  async truncate(): Promise<void> {}
  async close(): Promise<void> {}
}

interface Spoken {
  deviceId: string;
  stream: number;
  at: number;
  fault?: VoiceErrorKind;
  /** The earbud rebooted while holding it: beyond the ring. */
  ringLost?: boolean;
  /** A link drop, BlueZ restart or reboot was injected before its report. */
  dropped?: boolean;
}

interface Tally {
  spoken: number;
  answered: number;
  failedWithCause: number;
  /** Replies cut by an injected link loss (a reply cannot survive the link: connection-lifecycle.ts). */
  cutByDrop: number;
  lost: number;
  lostBeyondRing: number;
  extraReports: number;
  firstPlay: number[];
  lostDetail: string[];
}

interface RunOptions {
  hours: number;
  honest: number;
  hostile: boolean;
  /** Loss per honest earbud; undefined: random in 0–20 %. */
  loss?: number;
  chaos: boolean;
  /** Hostile attack period (ms). */
  attackMs: number;
  /** Memory is sampled after a full GC at this virtual time and at the end. */
  memoryFrom: number;
  seed: number;
}

interface RunResult {
  tally: Tally;
  crashes: number;
  voiceFaults: number;
  rssGrowthMb: number;
  heapGrowthMb: number;
  badHostFrames: number;
  /** Link drops (BlueZ restarts count one per earbud), BlueZ restarts, of them recovered, reboots. */
  injected: { drops: number; restarts: number; recovered: number; reboots: number };
}

const gc = gcFn();
function memory(): { rss: number; heap: number } {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const mb = (n: number): number => round(n / (1024 * 1024));

async function run(o: RunOptions): Promise<RunResult> {
  const vt = new VirtualTime();
  const rand = mulberry32(o.seed);
  const at = (ms: number, f: () => void): void => {
    vt.scheduler.schedule(f, Math.max(0, Math.round(ms)));
  };
  /** `f` about every `meanMs` (0.5–1.5 × at random), or exactly every `meanMs` from a random phase. */
  const every = (meanMs: number, f: () => void, fixed = false): void => {
    const next = (first: boolean): void =>
      at(fixed ? (first ? meanMs * rand() : meanMs) : meanMs * (0.5 + rand()), () => {
        f();
        next(false);
      });
    next(true);
  };

  let crashes = 0;
  const crashed = (what: string) => (e: unknown) => {
    crashes++;
    process.stderr.write(`soak: ${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  };
  const onException = crashed('uncaught exception');
  const onRejection = crashed('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);

  const link = new InProcessLink();
  const earbuds: SoakEarbud[] = [];
  for (let i = 0; i < o.honest; i++) {
    const address = `SO:AK:00:00:00:0${String(i + 1)}`;
    earbuds.push(new SoakEarbud(address, o.loss ?? 0.2 * rand(), mulberry32(o.seed + i + 1), vt));
  }
  let hostile: SoakEarbud | undefined;
  if (o.hostile) {
    hostile = new SoakEarbud('SO:AK:66:66:66:66', 0.2 * rand(), mulberry32(o.seed + 99), vt, (f) => {
      // NACK every PLAY frame, many times over.
      if (f.type === FrameType.PLAY && hostile) {
        const nack = bytesOf({
          type: FrameType.NACK,
          stream: f.stream,
          seq: 0,
          cumulative: f.seq,
          gaps: [{ start: f.seq, count: 1 }],
        });
        for (let k = 0; k < 20; k++) hostile.notify(nack);
      }
    });
  }
  const all = hostile ? [...earbuds, hostile] : earbuds;
  for (const e of all) link.addPeripheral(e);
  const dropped = (e: SoakEarbud): void => {
    for (const s of spoken.values()) if (s.deviceId === e.address) s.dropped = true;
  };
  const injected = { drops: 0, restarts: 0, recovered: 0, reboots: 0 };
  const away = (e: SoakEarbud, ms: number): void => {
    injected.drops++;
    dropped(e);
    if (e.absent++ === 0) link.removePeripheral(e.address);
    at(ms, () => {
      if (--e.absent === 0) link.addPeripheral(e);
    });
  };

  const spoken = new Map<string, Spoken>();
  const latest = new Map<string, Spoken>();
  const tally: Tally = {
    spoken: 0,
    answered: 0,
    failedWithCause: 0,
    cutByDrop: 0,
    lost: 0,
    lostBeyondRing: 0,
    extraReports: 0,
    firstPlay: [],
    lostDetail: [],
  };
  const lose = (s: Spoken, why: string): void => {
    if (s.ringLost) tally.lostBeyondRing++;
    else {
      tally.lost++;
      if (tally.lostDetail.length < 10)
        tally.lostDetail.push(`${s.deviceId} stream ${String(s.stream)} at ${String(s.at)} ms: ${why}`);
    }
  };
  const settle = (r: UtteranceReport): void => {
    const key = `${r.deviceId}/${String(r.stream)}`;
    const s = spoken.get(key);
    if (s === undefined) {
      if (!hostile || r.deviceId !== hostile.address) tally.extraReports++;
      return;
    }
    spoken.delete(key);
    if (r.outcome === 'complete') {
      tally.answered++;
      if (r.timings.firstPlay !== undefined) tally.firstPlay.push(r.timings.firstPlay);
    } else if (r.outcome === 'error' && s.fault !== undefined) tally.failedWithCause++;
    else if (
      r.outcome === 'aborted' &&
      r.error === 'link lost' &&
      s.dropped &&
      r.timings.utteranceEnd !== undefined
    )
      tally.cutByDrop++;
    else lose(s, `${r.outcome}${r.error !== undefined ? ` (${r.error})` : ''}`);
  };

  const isHonest = (id: string): boolean => earbuds.some((e) => e.address === id);
  const voice = new FaultyVoice(vt, isHonest, (id, kind) => {
    const s = latest.get(id);
    if (s !== undefined) s.fault = kind;
  });
  const sessionFailures: string[] = [];
  const bridge = new Bridge({
    link,
    voice,
    scheduler: vt.scheduler,
    now: vt.now,
    warmRates: [],
    reconnect: { scheduler: vt.scheduler, random: mulberry32(o.seed + 7) },
    logger: {
      // Only the bridge's own failures: the hostile earbud's LOG spam is at level error too.
      log: (level, message) => {
        if (level === 'error' && (message.startsWith('session for') || message.startsWith('giving up')))
          sessionFailures.push(message);
      },
    },
  });
  const sub = bridge.events$.subscribe({
    next: (e) => {
      if (e.kind === 'utterance') settle(e.report);
      else if (e.kind === 'device-error') sessionFailures.push(`${e.deviceId}: ${e.message}`);
    },
    error: crashed('bridge events error'),
  });
  for (const e of all) bridge.addDevice(e.address);

  const end = o.hours * HOUR;
  const quiet = end - 2 * MINUTE; // no new utterance after this: each gets its report before the end
  // Honest speech: one utterance about every 80 s (45 an hour); the earbud re-sends its newest held
  // frame every 400 ms while a stream awaits acknowledgement (its RTO).
  for (const e of earbuds) {
    every(80 * SECOND, () => {
      if (vt.now() > quiet) return;
      if (e.earbud.active) {
        // The previous stream is still unacknowledged: it speaks later (not counted twice).
        return;
      }
      const stream = e.earbud.utterance(CHUNKS);
      const s: Spoken = { deviceId: e.address, stream, at: vt.now() };
      spoken.set(`${e.address}/${String(stream)}`, s);
      latest.set(e.address, s);
      tally.spoken++;
    });
  }
  for (const e of all) {
    const rto = (): void => {
      if (e.earbud.active) e.earbud.rto();
      at(400, rto);
    };
    at(400, rto);
  }

  if (o.chaos) {
    for (const e of all) {
      every(HOUR / 14, () => away(e, 500 + 3500 * rand()));
      every(
        HOUR / 2,
        () => {
          for (const s of spoken.values()) if (s.deviceId === e.address) s.ringLost = true;
          dropped(e);
          injected.reboots++;
          e.reboot();
        },
        true,
      );
    }
    every(
      HOUR / 2,
      () => {
        injected.restarts++;
        for (const e of all) away(e, 4 * SECOND);
        // Recovered: every earbud connected and past its handshake again within a minute.
        const since = vt.now();
        const check = (): void => {
          if (bridge.status().every((d) => d.connected && d.phase !== 'handshake')) injected.recovered++;
          else if (vt.now() - since < MINUTE) at(SECOND, check);
        };
        at(5 * SECOND, check);
      },
      true,
    );
    const kinds: VoiceErrorKind[] = ['server', 'timeout', 'rate-limited'];
    let k = 0;
    every(5 * MINUTE, () => voice.armed.push(kinds[k++ % kinds.length] as VoiceErrorKind), true);
  }

  if (hostile) {
    const h = hostile;
    let attack = 0;
    let stream = 0;
    every(o.attackMs, () => {
      const n = attack++ % 6;
      if (n === 0)
        for (let i = 0; i < 50; i++) h.notify(bytesOf(tapWakeFrame((stream = (stream % 255) + 1))));
      else if (n === 1) {
        const s = (stream = (stream % 255) + 1);
        h.notify(bytesOf(tapWakeFrame(s)));
        for (const seq of [1, 2, 300, 5000, 32768, 40000, 65535, 3])
          h.notify(bytesOf({ type: FrameType.AUDIO, stream: s, seq, samples: TONE }));
      } else if (n === 2) {
        for (let i = 0; i < 20; i++)
          h.notify(Uint8Array.from({ length: 300 + i * 50 }, () => (rand() * 256) | 0));
        for (let i = 0; i < 50; i++)
          h.notify(Uint8Array.from({ length: 1 + ((rand() * 40) | 0) }, () => (rand() * 256) | 0));
        h.notify(new Uint8Array(0));
      } else if (n === 3) {
        for (let i = 0; i < 100; i++)
          h.notify(
            bytesOf({ type: FrameType.LOG, stream: 0, seq: 0, level: i % 4, text: 'spam '.repeat(40) }),
          );
      } else {
        // A real utterance now and then, so its reply is NACK-flooded.
        h.earbud.active = false;
        h.earbud.utterance(CHUNKS);
      }
    });
  }

  let base = { rss: 0, heap: 0 };
  const step = 10 * SECOND;
  for (let t = 0; t < end; t += step) {
    if (t === o.memoryFrom) base = memory();
    if (process.env.BENCH_DEBUG && t % (HOUR / 4) === 0) {
      const m = memory();
      process.stderr.write(
        `soak: hour ${String(t / HOUR)}: rss ${String(mb(m.rss))} MB, heap ${String(mb(m.heap))} MB\n`,
      );
    }
    await vt.advance(step);
  }
  const last = memory();
  for (const s of spoken.values()) lose(s, 'no report');
  sub.unsubscribe();
  await bridge.stop();
  await link.close();
  await vt.advance(SECOND);
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
  const failures = sessionFailures;
  for (const m of failures.slice(0, 5)) process.stderr.write(`soak: ${m}\n`);
  return {
    tally,
    crashes: crashes + failures.length,
    voiceFaults: voice.injected,
    rssGrowthMb: mb(last.rss - base.rss),
    heapGrowthMb: mb(last.heap - base.heap),
    badHostFrames: all.reduce((n, e) => n + e.badHostFrames, 0),
    injected,
  };
}

function describe(name: string, r: RunResult, wallS: number): void {
  const t = r.tally;
  process.stderr.write(
    `soak ${name}: ${String(t.spoken)} spoken, ${String(t.answered)} answered, ${String(t.failedWithCause)} failed with cause, ` +
      `${String(t.cutByDrop)} replies cut by a drop, ` +
      `${String(t.lost)} lost, ${String(t.lostBeyondRing)} lost beyond ring, ${String(t.extraReports)} extra reports, ` +
      `${String(r.voiceFaults)} voice faults, ${JSON.stringify(r.injected)}, ${String(r.crashes)} crashes, ${String(r.badHostFrames)} bad host frames, ` +
      `rss +${String(r.rssGrowthMb)} MB, heap +${String(r.heapGrowthMb)} MB, ${wallS.toFixed(1)} s wall\n`,
  );
  for (const d of t.lostDetail) process.stderr.write(`  lost: ${d}\n`);
}

async function timed(name: string, o: RunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const r = await run(o);
  describe(name, r, (performance.now() - t0) / 1000);
  return r;
}

/** Per simulated hour (and per earbud where `per` is given), to one decimal. */
const rate = (n: number, hours: number, per = 1): number => round(n / hours / per, 1);

const bench: Bench = {
  name: 'soak',
  async run() {
    const hours = Number(process.env.SOAK_HOURS ?? 4);
    const chaos = { honest: 4, hostile: true, chaos: true, attackMs: 10 * SECOND };
    // RSS after a GC climbs for the first seconds of wall time (JIT tiers, allocator arenas) with the
    // heap flat, and a simulated quarter hour lasts well under a second: an hour's run warms up first.
    await timed('warm-up', { ...chaos, hours: 1, memoryFrom: 0, seed: 5 });
    const main = await timed('main', {
      ...chaos,
      hours,
      memoryFrom: Math.min(HOUR / 4, Math.floor((hours * HOUR) / 40000) * 10 * SECOND),
      seed: 1,
    });
    const attackHours = Math.min(2, hours);
    const attack = await timed('attack', {
      hours: attackHours,
      honest: 0,
      hostile: true,
      chaos: false,
      attackMs: 5 * SECOND,
      memoryFrom: Math.floor((attackHours * HOUR) / 80000) * 10 * SECOND,
      seed: 2,
    });
    const quiet = { hours: 0.5, honest: 4, hostile: false, chaos: false, attackMs: 0, memoryFrom: 0 };
    const lossy = await timed('20% loss', { ...quiet, loss: 0.2, seed: 3 });
    const clean = await timed('clean', { ...quiet, loss: 0, seed: 4 });
    const p = (t: Tally, q: number): number =>
      round(
        percentile(
          [...t.firstPlay].sort((a, b) => a - b),
          q,
        ),
        1,
      );
    const m = main.tally;
    const l = lossy.tally;
    const earbuds = 5;
    if (hours >= 1) {
      // The chaos this bench promises (the issue's minimums): fail rather than report a milder run.
      const short = [
        [m.spoken / hours / 4, 30, 'utterances per honest earbud-hour'],
        [
          (main.injected.drops - main.injected.restarts * earbuds) / hours / earbuds,
          10,
          'drops per earbud-hour',
        ],
        [main.injected.restarts / hours, 2, 'BlueZ restarts per hour'],
        [main.injected.reboots / hours / earbuds, 2, 'reboots per earbud-hour'],
        [main.voiceFaults / hours, 10, 'voice faults per hour'],
      ].filter(([v, min]) => (v as number) < (min as number));
      if (short.length > 0)
        throw new Error(`soak: too mild: ${short.map((x) => `${String(x[0])} ${String(x[2])}`).join(', ')}`);
    }
    return {
      'reliability.soak_hours_simulated': hours,
      'reliability.soak_crashes': main.crashes + attack.crashes + lossy.crashes + clean.crashes,
      'reliability.soak_lost_utterances': m.lost,
      'reliability.soak_lost_beyond_ring': m.lostBeyondRing,
      'reliability.soak_utterances_per_earbud_hour': rate(m.spoken, hours, 4),
      'reliability.soak_answered': m.answered,
      'reliability.soak_failed_voice_fault': m.failedWithCause,
      'reliability.soak_replies_cut_by_drops': m.cutByDrop,
      'reliability.soak_link_drops_per_earbud_hour': rate(main.injected.drops, hours, earbuds),
      'reliability.soak_bluez_restarts_per_hour': rate(main.injected.restarts, hours),
      'reliability.soak_bluez_restarts_unrecovered': main.injected.restarts - main.injected.recovered,
      'reliability.soak_reboots_per_earbud_hour': rate(main.injected.reboots, hours, earbuds),
      'reliability.soak_voice_faults_per_hour': rate(main.voiceFaults, hours),
      'reliability.soak_first_play_ms_p50': p(m, 50),
      'reliability.soak_first_play_ms_p99': p(m, 99),
      'reliability.clean_first_play_ms_p50': p(clean.tally, 50),
      'reliability.clean_first_play_ms_p99': p(clean.tally, 99),
      'reliability.soak_rss_growth_mb': main.rssGrowthMb,
      'reliability.soak_heap_growth_mb': main.heapGrowthMb,
      'reliability.replies_failed_at_20pct_loss': l.spoken - l.answered,
      'security.attack_rss_growth_mb': attack.rssGrowthMb,
      'security.attack_heap_growth_mb': attack.heapGrowthMb,
    };
  },
};

export default bench;
