/**
 * The simulated earbud on the REAL Espruino interpreter (the second engine; the first is the vm
 * simulator in ../vm/earbud.ts). The built bundle runs from Storage in the interpreter built for the
 * board (build/build.ts), with the Budlink hardware shim standing in for the radio, ADC, PWM, GPIO,
 * watchdog and flash. Time is the wall clock (optionally scaled: `timeScale`).
 *
 * What the radio does with notifications (TX queue, silent drops, connection events, MTU truncation)
 * is the same LinkModel the vm engine uses, fed with the device's own timestamps.
 *
 * This file is the earbud's API; the shim's events are parsed by shim-events.ts, the audio mirrored by
 * audio.ts, and device-time callbacks run by scheduler.ts.
 */
import { existsSync, mkdtempSync, readFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOARDS, type BoardProfile } from '@budlink/firmware/boards';
import { distDir } from '@budlink/firmware/bundle';
import { ESPRUINO_BOARDS, REBOOT_EXIT_CODE } from './build/boards';
import { binaryPath, buildBoard, cacheDir, isBuilt, type BuildMode } from './build/build';
import { addressFor } from '../core/address';
import { SimError } from '../core/errors';
import { LinkModel, emptyLinkStats, type LinkStats } from '../core/link';
import type { SimCentral, SimService } from '@budlink/link';
import type { CommonEarbudOptions, Earbud, EarbudCounters, QueuedAudio } from '../core/earbud';
import { readWav } from '@budlink/protocol/audio';
import { heardByMic } from '../core/mic-input';
import { MicMirror, SpeakerDecoder } from './audio';
import { FLASH_FILE, flashImage } from './flash';
import { Interpreter, type ShimEvent } from './interpreter';
import { DeviceScheduler } from './scheduler';
import {
  parseAdvertised,
  parseInterval,
  parseLed,
  parseMemory,
  parseMicRuns,
  parseName,
  parseServices,
  parseSpeakerWrites,
  parseValue,
  type EspruinoMemory,
  type GattCharacteristic,
} from './shim-events';

/**
 * The real engine's options (`bundlePath` defaults to firmware/dist/<board>.tok.js: the minified bundle
 * pretokenised, as a device stores it).
 */
export interface EspruinoEarbudOptions extends CommonEarbudOptions {
  /** Heap size for this run (default: the board's). Below the board's to prove a margin. */
  jsVars?: number;
  /** Interpreter build: 'release' (default: -Os, asserts off, as on the device) or 'debug' (-O0, asserts). */
  mode?: BuildMode;
  /** Device seconds per wall-clock second (default 1; lower under valgrind). */
  timeScale?: number;
  /** Run the interpreter under this command (e.g. ['valgrind', '--tool=callgrind', ...]). */
  prefix?: string[];
  /** Sample JsVars after a GC at every notification and between jobs (slow; for memory figures). */
  trackPeak?: boolean;
  /** Build the interpreter if it is missing or stale (default true). */
  build?: boolean;
  /** Run this interpreter binary instead of the board's build (diagnostics, e.g. a larger heap). */
  binary?: string;
}

/**
 * The real engine's figures. Out-of-memory and handler errors are what the console reports ("Out of
 * Memory", "Uncaught ..."); the JsVars after boot are counted after a GC.
 */
export interface EspruinoEarbudStats extends EarbudCounters {
  /** The interpreter died some other way (an assert, a signal): always a bug. */
  crashes: number;
  /** ADC samples taken while no audio was queued (silence). */
  micUnderruns: number;
}

const CHIP_MTU: Record<string, number> = { nrf52832: 53, nrf52833: 53, nrf52840: 131 };
const CENTRAL_ADDRESS = 'c0:ff:ee:00:00:01 public';

export class EspruinoEarbud implements Earbud {
  readonly board: BoardProfile;
  readonly address: string;
  readonly maxMtu: number;
  readonly logs: string[] = [];
  private it!: Interpreter;
  private readonly dir: string;
  private readonly binary: string;
  private readonly link: LinkModel;
  private readonly sched: DeviceScheduler;
  private gatt: (SimService & { handles: Record<string, number> }) | null = null;
  private gattChars: GattCharacteristic[] = [];
  private advertised: string[] = [];
  private advName = '';
  private readonly values = new Map<string, Uint8Array>();
  private readonly ledLevels = new Map<string, number>();
  private readonly speaker: SpeakerDecoder | null;
  private micRate: number;
  private readonly mic = new MicMirror();
  private central: SimCentral | null = null;
  private bootOffset = 0;
  private lastDeviceNow = 0;
  private bootJsVars = 0;
  private memWaiters: ((m: EspruinoMemory) => void)[] = [];
  private readyWaiters: (() => void)[] = [];
  private jsReady = false;
  private stopped = false;
  private counters = {
    outOfMemory: 0,
    handlerErrors: 0,
    watchdogResets: 0,
    reboots: 0,
    crashes: 0,
    micUnderruns: 0,
  };
  private priorLink: LinkStats = emptyLinkStats();
  private rebootReason = '';

  private constructor(private readonly o: EspruinoEarbudOptions) {
    const b = BOARDS[o.board];
    const eb = ESPRUINO_BOARDS[o.board];
    if (!b || !eb)
      throw new SimError(
        'unknown-board',
        `unknown board '${o.board}' (known: ${Object.keys(ESPRUINO_BOARDS).join(', ')})`,
      );
    this.board = b;
    this.micRate = b.sampleRate;
    this.speaker = b.speaker ? new SpeakerDecoder(b.speaker) : null;
    const mode = o.mode ?? 'release';
    this.binary = o.binary ?? (o.build === false ? binaryPath(b.id, mode) : buildBoard(eb, mode));
    if (!existsSync(this.binary))
      throw new SimError(
        'no-bundle',
        `no Espruino interpreter built at ${this.binary}: run firmware/sim/espruino/build/build.ts`,
      );
    this.maxMtu = Math.min(o.link?.mtu ?? 247, CHIP_MTU[b.chip] ?? b.maxPayload + 3);
    this.address = o.address ?? addressFor(b.id, o.link?.seed ?? 1);
    this.dir = mkdtempSync(join(tmpdir(), `budlink-espruino-${b.id}-`));
    this.sched = new DeviceScheduler(
      () => this.it.deviceNowMs(),
      (t) => this.it.hostDelayMs(t),
    );
    const link = o.link ?? {};
    this.link = new LinkModel(
      {
        ...link,
        packetsPerInterval: link.packetsPerInterval ?? b.packetsPerInterval,
        queueDepth: link.queueDepth ?? 6,
        dropRate: link.dropRate ?? 0,
      },
      this.maxMtu,
      {
        at: (t, fn) => this.sched.at(t, fn),
        deliverWrite: (uuid, data) => this.it.command(`W ${uuid} ${Buffer.from(data).toString('hex')}`),
      },
    );
  }

  /** Flash the bundle, power on, and resolve once the firmware has booted (services declared). */
  static async start(o: EspruinoEarbudOptions): Promise<EspruinoEarbud> {
    const e = new EspruinoEarbud(o);
    try {
      const bundle = o.bundlePath ?? join(distDir, `${o.board}.tok.js`);
      if (!existsSync(bundle))
        throw new SimError(
          'no-bundle',
          `no firmware bundle at ${bundle}: run \`npm run build -w firmware\` first`,
        );
      const code = readFileSync(bundle, 'latin1');
      const keyFile = `${e.binary}.key`;
      const binaryKey = existsSync(keyFile) ? readFileSync(keyFile, 'utf8') : e.binary;
      const image = await flashImage(e.binary, binaryKey, code, join(cacheDir, 'flash', o.board));
      copyFileSync(image, join(e.dir, FLASH_FILE));
      await e.powerOn(o.audio ?? []);
      return e;
    } catch (err) {
      await e.stop();
      throw err;
    }
  }

  /** Whether the interpreter for this board is built and current (no build is started). */
  static isBuilt(board: string, mode: BuildMode = 'release'): boolean {
    return isBuilt(board, mode);
  }

  // ------------------------------------------------------------------------------ SimPeripheral

  get name(): string {
    return this.advName;
  }

  get connected(): boolean {
    return this.link.connected;
  }

  advertisedServices(): string[] {
    return this.advertised.slice();
  }

  services(): SimService[] {
    const out = new Map<string, SimService>();
    for (const c of this.gattChars) {
      let s = out.get(c.service);
      if (!s) out.set(c.service, (s = { uuid: c.service, characteristics: [] }));
      s.characteristics.push({ uuid: c.uuid, flags: c.flags });
    }
    return [...out.values()];
  }

  connect(central: SimCentral, options: { mtu: number }): void {
    this.assertRunning();
    if (this.link.connected) throw new SimError('already-connected', `${this.name} is already connected`);
    this.central = central;
    this.link.connect(central, options.mtu, this.it.deviceNowMs());
    this.it.command(`C ${CENTRAL_ADDRESS}`);
  }

  disconnect(): void {
    this.assertRunning();
    this.central = null;
    if (this.link.disconnect()) this.it.command('D 19'); // remote user terminated connection
  }

  write(charUuid: string, value: Uint8Array): void {
    this.assertRunning();
    if (!this.link.connected) throw new SimError('not-connected', 'write while not connected');
    if (!this.gattChars.some((c) => c.uuid === charUuid && c.flags.includes('write')))
      throw new SimError('gatt', `no writable characteristic ${charUuid}`);
    this.link.write(charUuid, value, this.it.deviceNowMs());
  }

  read(charUuid: string): Uint8Array {
    return new Uint8Array(this.values.get(charUuid) ?? new Uint8Array(0));
  }

  // ------------------------------------------------------------------------------ time

  /** Device time in ms since the first power-on (continues across reboots). */
  get now(): number {
    const n = this.it.exited ? this.lastDeviceNow : this.it.deviceNowMs();
    return this.bootOffset + (Number.isNaN(n) ? 0 : n);
  }

  /** Let `ms` of device time pass (wall clock × timeScale). */
  async wait(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, Math.max(0, ms / (this.o.timeScale ?? 1))));
    if (!this.it.exited) this.sched.pump(this.it.deviceNowMs());
  }

  // ------------------------------------------------------------------------------ inputs

  /** Queue microphone audio (16-bit signed: quantised like the ADC; 8-bit unsigned: as is). */
  feedAudio(samples: Int16Array | Uint8Array, sampleRate: number): void {
    if (!(sampleRate >= 1000 && sampleRate <= 192000))
      throw new SimError('bad-input', `feedAudio: bad sample rate ${sampleRate}`);
    const at = heardByMic(samples, sampleRate, Math.round(this.micRate));
    this.mic.push(at);
    for (let o = 0; o < at.length; o += 8192)
      this.it.command(`A ${Buffer.from(at.subarray(o, o + 8192)).toString('hex')}`);
  }

  feedWav(path: string): number {
    const w = readWav(path);
    this.feedAudio(w.samples, w.sampleRate);
    return (w.samples.length * 1000) / w.sampleRate;
  }

  feedSilence(ms: number): void {
    const n = Math.round((ms * this.micRate) / 1000);
    this.feedAudio(new Uint8Array(n).fill(128), Math.round(this.micRate));
  }

  clearAudio(): void {
    this.it.command('Z');
    this.mic.clear();
  }

  pendingAudioSamples(): number {
    return this.mic.pending();
  }

  /**
   * Press the button and release it `ms` later (device time). Now, or with `atSample` just before the
   * ADC takes that sample (a micSamples() index; the shim counts the samples), the release then `ms`
   * of samples later: a point on the audio timeline, whatever the wall clock does.
   */
  pressButton(ms: number, atSample?: number): void {
    this.assertRunning();
    if (atSample !== undefined) {
      const rate = this.micRate || this.board.sampleRate;
      const up = atSample + Math.round((Math.max(0, ms) * rate) / 1000);
      this.it.command(`K ${this.board.button} ${atSample} 1`);
      this.it.command(`K ${this.board.button} ${up} 0`);
      return;
    }
    this.it.command(`B ${this.board.button} 1`);
    setTimeout(() => this.it.command(`B ${this.board.button} 0`), Math.max(0, ms / (this.o.timeScale ?? 1)));
  }

  /** Type a line at the device's console (echo off). */
  typeAtConsole(line: string): void {
    this.it.type(`\x10${line}\n`);
  }

  // ------------------------------------------------------------------------------ outputs

  speakerSamples(): Uint8Array {
    return Uint8Array.from(this.speaker?.samples ?? []);
  }

  micSamples(): Uint8Array {
    return Uint8Array.from(this.mic.history);
  }

  leds(): Record<string, number> {
    return Object.fromEntries(this.ledLevels);
  }

  /** JsVars after a garbage collection (and the sampled peak), asked of the interpreter. */
  memory(): Promise<EspruinoMemory> {
    this.assertRunning();
    return new Promise((resolve) => {
      this.memWaiters.push(resolve);
      this.it.command('M');
    });
  }

  /** Start (or restart) peak sampling. */
  trackPeak(on: boolean): void {
    this.it.command(`G ${on ? 1 : 0}`);
  }

  stats(): EspruinoEarbudStats {
    const l = this.link.stats;
    const p = this.priorLink;
    return {
      notificationsSent: p.notificationsSent + l.notificationsSent,
      notificationsDropped: p.notificationsDropped + l.notificationsDropped,
      notificationsQueueFull: p.notificationsQueueFull + l.notificationsQueueFull,
      notificationsLost: p.notificationsLost + l.notificationsLost,
      notificationsTruncated: p.notificationsTruncated + l.notificationsTruncated,
      writesDelivered: p.writesDelivered + l.writesDelivered,
      jsVarsTotal: this.o.jsVars ?? ESPRUINO_BOARDS[this.board.id]!.jsVars,
      bootJsVars: this.bootJsVars,
      ...this.counters,
    };
  }

  // ------------------------------------------------------------------------------ power

  /** Cut power and boot again: RAM, timers and the connection are lost; Storage (flash) is kept. */
  async powerCycle(): Promise<void> {
    this.assertRunning();
    this.rebootReason = 'power cycle';
    await this.halt();
    await this.powerOn();
  }

  /** Stop the interpreter and remove its files. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.sched.clear();
    if (this.it) await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private assertRunning(): void {
    if (this.stopped) throw new SimError('stopped', 'this earbud was stopped');
  }

  private async halt(): Promise<void> {
    const it = this.it;
    if (it.exited) return;
    const done = new Promise<void>((r) => it.child.once('exit', () => r()));
    it.command('Q');
    const t = setTimeout(() => it.kill(), 2000);
    await done;
    clearTimeout(t);
  }

  private powerOn(audio: QueuedAudio[] = []): Promise<void> {
    this.jsReady = false;
    this.gattChars = [];
    const ready = new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    this.it = new Interpreter({
      binary: this.binary,
      dir: this.dir,
      jsVars: this.o.jsVars,
      seed: this.o.seed ?? 1,
      timeScale: this.o.timeScale,
      prefix: this.o.prefix,
      onEvent: (e) => this.onEvent(e),
      onConsole: (line) => this.onConsole(line),
      onExit: (code, signal) => this.onExit(code, signal),
    });
    // Before the shim's first idle loop reads its commands, so the ADC's first sample is the first fed.
    for (const a of audio) this.feedAudio(a.samples, a.rate);
    return ready;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.lastDeviceNow = this.it.deviceNowMs() || this.lastDeviceNow;
    this.bootOffset += Number.isNaN(this.lastDeviceNow) ? 0 : this.lastDeviceNow;
    this.lastDeviceNow = 0;
    this.sched.clear();
    this.priorLink = addLink(this.priorLink, this.link.stats);
    Object.assign(this.link.stats, emptyLinkStats());
    const c = this.link.disconnect();
    this.central = null;
    if (c) c.onDisconnect('power-cycle');
    for (const w of this.readyWaiters.splice(0)) w();
    if (this.stopped) return;
    if (code === REBOOT_EXIT_CODE || this.rebootReason === 'power cycle') {
      this.counters.reboots++;
      this.logs.push(`[espruino] reboot: ${this.rebootReason || 'reset'}`);
      if (this.rebootReason !== 'power cycle') void this.powerOn();
      this.rebootReason = '';
      return;
    }
    this.counters.crashes++;
    this.logs.push(`[espruino] the interpreter exited (code ${code}, signal ${signal})`);
  }

  private onConsole(line: string): void {
    this.logs.push(line);
    if (/Out of Memory/.test(line)) this.counters.outOfMemory++;
    if (/^Uncaught /.test(line)) this.counters.handlerErrors++;
  }

  private onEvent(e: ShimEvent): void {
    const a = e.args;
    switch (e.kind) {
      case 'J': // the interpreter (re)initialised JavaScript
        this.jsReady = true;
        setTimeout(() => this.settleBoot(), 200 / (this.o.timeScale ?? 1));
        break;
      case 'S':
        this.gattChars = parseServices(a);
        break;
      case 'A':
        this.advertised = parseAdvertised(a);
        break;
      case 'V':
        this.advName = parseName(a);
        break;
      case 'I':
        this.link.setRequestedInterval(parseInterval(a));
        break;
      case 'N':
      case 'U': {
        const { uuid, value } = parseValue(a);
        this.values.set(uuid, value);
        if (e.kind === 'N') {
          this.sched.pump(e.t);
          this.link.notify(uuid, value, e.t);
        }
        break;
      }
      case 'X': // NRF.disconnect(): the device drops the link
        this.sched.pump(e.t);
        {
          const c = this.link.disconnect();
          this.central = null;
          if (c) {
            this.it.command('D 22'); // local host terminated connection
            c.onDisconnect('remote');
          }
        }
        break;
      case 'L': {
        const { pin, level } = parseLed(a);
        this.ledLevels.set(pin, level);
        break;
      }
      case 'O':
        if (this.speaker) this.speaker.write(parseSpeakerWrites(a));
        break;
      case 'a':
        for (const run of parseMicRuns(a)) this.counters.micUnderruns += this.mic.took(run.kind, run.n);
        break;
      case 'r':
        this.micRate = Number(a);
        break;
      case 'm':
        this.memWaiters.shift()?.(parseMemory(a));
        break;
      case 'R':
        this.rebootReason = a;
        if (a === 'watchdog') this.counters.watchdogResets++;
        break;
      default:
        break;
    }
  }

  private settleBoot(): void {
    if (!this.jsReady || this.it.exited) return;
    this.memory()
      .then((m) => {
        this.bootJsVars = m.used;
        if (this.o.trackPeak) this.trackPeak(true);
        for (const w of this.readyWaiters.splice(0)) w();
      })
      .catch(() => undefined);
  }
}

function addLink(a: LinkStats, b: LinkStats): LinkStats {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof LinkStats)[]) out[k] = a[k] + b[k];
  return out;
}
