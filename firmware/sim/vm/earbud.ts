/**
 * The simulated earbud: the BUILT firmware bundle (firmware/dist/<board>.min.js) running on an emulated
 * Espruino (device.ts) with a microphone fed from WAV files or sample arrays, a speaker whose samples are
 * captured, a button, Storage that survives power cycles, and a BLE link model in front of one central.
 *
 * Clocks: 'virtual' (default) moves only when advance(ms) is called, deterministically; 'real' runs the
 * device on the host clock × speed (for the BlueZ emulator and `npm start`).
 *
 * This is the vm engine (espruino/earbud.ts is the real interpreter's); index.ts re-exports it.
 */
import { readFileSync, existsSync } from 'node:fs';
import { BOARDS, type BoardProfile } from '@budlink/firmware/boards';
import { bundlePathFor } from '@budlink/firmware/bundle';
import { Device, emptyDeviceStats, type BootMode, type DeviceStats } from './device';
import { addressFor } from '../core/address';
import { SimError } from '../core/errors';
import { emptyLinkStats, type LinkStats } from '../core/link';
import { MicQueue } from './mic';
import { EspruinoRandom } from './natives';
import { STORAGE_BYTES } from './storage';
import type { SimCentral, SimService } from '@budlink/link';
import type { Earbud, EarbudCounters } from '../core/earbud';
import type { EarbudStats, VmEarbudOptions } from './types';
import { readWav } from '@budlink/protocol/audio';

/** TX queue depth of the SoftDevice configuration Espruino uses (hvn_tx_queue_size). */
const DEFAULT_QUEUE_DEPTH = 6;

const CHIP_MTU: Record<string, number> = { nrf52832: 53, nrf52833: 53, nrf52840: 131 };

export interface EarbudStatsFull extends EarbudStats, EarbudCounters {
  /** Sum of cost units over every JS job. */
  totalCost: number;
  /** Cost units spent in input-Waveform 'buffer' handlers, and how many ran. */
  inputHandlerCost: number;
  inputBuffers: number;
  /** Device time since the last power-on (ms). */
  uptimeMs: number;
  /** Cost per job kind ('buffer', 'timer', 'write', 'watch', 'connect', 'disconnect', 'boot', 'init'). */
  byKind: Record<string, { jobs: number; cost: number; max: number }>;
}

export class SimulatedEarbud implements Earbud {
  readonly address: string;
  readonly board: BoardProfile;
  /**
   * Largest ATT MTU this earbud's link accepts (the board's radio limit: 53 on nRF52832/833, 131 on
   * nRF52840; lower if `link.mtu` says so). A central's MTU exchange yields min(its request, this).
   */
  readonly maxMtu: number;
  /** Console output of the device (console.log, Bluetooth.write, errors), one line per entry. */
  readonly logs: string[] = [];
  private readonly source: string;
  private readonly storage = new Map<string, Uint8Array>();
  private readonly mic = new MicQueue();
  private readonly speakerOut: number[] = [];
  private device!: Device;
  private central: SimCentral | null = null;
  private bootJsVars = 0;
  private reboots = 0;
  private prior: DeviceStats & LinkStats = emptyTotals();
  private hostTimer: NodeJS.Timeout | null = null;
  private hostStart = 0;
  private simStart = 0;
  /** Sim time at the last power-on (device clocks restart at 0). */
  private bootOffset = 0;
  private stopped = false;
  private bundleInStorage = false;
  /** Espruino's rand() (Math.random): srand(seed) at every power-on, kept across reset()/load(). */
  private readonly random: EspruinoRandom;

  private constructor(private readonly options: VmEarbudOptions) {
    const b = BOARDS[options.board];
    if (!b)
      throw new SimError(
        'unknown-board',
        `unknown board '${options.board}' (known: ${Object.keys(BOARDS).join(', ')})`,
      );
    this.board = b;
    this.maxMtu = Math.min(options.link?.mtu ?? 247, CHIP_MTU[b.chip] ?? b.maxPayload + 3);
    if (options.source !== undefined) this.source = options.source;
    else {
      const path = options.bundlePath ?? bundlePathFor(options.board);
      if (!existsSync(path))
        throw new SimError(
          'no-bundle',
          `no firmware bundle at ${path}: run \`npm run build -w firmware\` first`,
        );
      this.source = readFileSync(path, 'utf8');
    }
    this.address = options.address ?? addressFor(options.board, options.link?.seed ?? 1);
    // The bundle is what a flasher put in Storage as '.bootcde' (Storage.write + load()).
    if (this.source.length + 32 <= STORAGE_BYTES) {
      this.storage.set('.bootcde', new Uint8Array(Buffer.from(this.source, 'latin1')));
      this.bundleInStorage = true;
    } else
      this.logs.push(
        `[sim] the bundle (${this.source.length} B) does not fit this board's Storage (${STORAGE_BYTES} B): running it anyway`,
      );
    for (const a of options.audio ?? []) this.feedAudio(a.samples, a.rate);
    this.random = new EspruinoRandom(options.seed ?? 1);
    this.powerOn();
    if ((options.clock ?? 'virtual') === 'real') this.startRealTime();
  }

  /** Load the bundle, boot it (E.on('init') included) and return the running earbud. */
  static create(options: VmEarbudOptions): SimulatedEarbud {
    return new SimulatedEarbud(options);
  }

  // ------------------------------------------------------------------------------ SimPeripheral

  get name(): string {
    return this.device.name();
  }

  get connected(): boolean {
    return this.device.link.connected;
  }

  advertisedServices(): string[] {
    return this.device.advertisedServices();
  }

  services(): SimService[] {
    return this.device.gatt();
  }

  connect(central: SimCentral, options: { mtu: number }): void {
    this.assertRunning();
    if (this.device.link.connected)
      throw new SimError('already-connected', `${this.name} is already connected`);
    this.central = central;
    this.device.connectCentral(central, options.mtu);
  }

  disconnect(): void {
    this.assertRunning();
    this.central = null;
    this.device.disconnectCentral('local');
  }

  write(charUuid: string, value: Uint8Array): void {
    this.assertRunning();
    this.device.centralWrite(charUuid, value);
  }

  read(charUuid: string): Uint8Array {
    return this.device.centralRead(charUuid);
  }

  // ------------------------------------------------------------------------------ time

  /** Sim time in ms (continues across power cycles). */
  get now(): number {
    return this.bootOffset + this.device.now;
  }

  /** Virtual clock: run the device for `ms` of device time. */
  advance(ms: number): void {
    this.assertRunning();
    if (this.hostTimer !== null)
      throw new SimError('wrong-clock', 'advance() is for the virtual clock; this earbud runs in real time');
    if (!(ms >= 0)) throw new SimError('bad-input', `advance: bad duration ${ms}`);
    this.runTo(this.now + ms);
  }

  /** TimedPeripheral: on the virtual clock, advance(ms) at once; in real time, wait for it. */
  async wait(ms: number): Promise<void> {
    if (this.hostTimer === null) this.advance(ms);
    else await new Promise((r) => setTimeout(r, ms / (this.options.speed ?? 1)));
  }

  private runTo(simT: number): void {
    for (let guard = 0; guard < 1000; guard++) {
      this.device.runUntil(simT - this.bootOffset);
      if (!this.device.rebootRequested) return;
      this.reboot(this.device.rebootRequested, this.device.rebootMode);
    }
  }

  private startRealTime(): void {
    const speed = this.options.speed ?? 1;
    if (!(speed > 0)) throw new SimError('bad-input', `speed must be > 0, got ${speed}`);
    this.hostStart = performance.now();
    this.simStart = this.now;
    this.hostTimer = setInterval(() => {
      if (this.stopped) return;
      try {
        this.runTo(this.simStart + (performance.now() - this.hostStart) * speed);
      } catch (e) {
        this.logs.push(`[sim] real-time pump failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }, 4);
  }

  // ------------------------------------------------------------------------------ inputs

  /**
   * Queue audio for the microphone (played from the next ADC sample on). Int16Array: 16-bit signed
   * samples, quantised like the nRF52 ADC (top 8 bits, 128 = zero). Uint8Array: 8-bit unsigned as is.
   */
  feedAudio(samples: Int16Array | Uint8Array, sampleRate: number): void {
    if (!(sampleRate >= 1000 && sampleRate <= 192000))
      throw new SimError('bad-input', `feedAudio: bad sample rate ${sampleRate}`);
    this.mic.push(samples instanceof Int16Array ? samples : new Uint8Array(samples), sampleRate);
  }

  /** Queue a WAV file (8- or 16-bit PCM; first channel). Returns its duration in ms. */
  feedWav(path: string): number {
    const w = readWav(path);
    this.feedAudio(w.samples, w.sampleRate);
    return (w.samples.length * 1000) / w.sampleRate;
  }

  /** Queue `ms` of digital silence (128) at the board's rate. */
  feedSilence(ms: number): void {
    const n = Math.round((ms * this.board.sampleRate) / 1000);
    this.mic.push(new Uint8Array(n).fill(128), this.board.sampleRate);
  }

  /** Drop audio not yet sampled. */
  clearAudio(): void {
    this.mic.clear();
  }

  /** Audio samples queued but not yet sampled, at the board's rate. */
  pendingAudioSamples(): number {
    return this.mic.pending(this.board.sampleRate);
  }

  /**
   * Press the button and release it `ms` later (device time). Now, or with `atSample` just before the
   * ADC takes that sample (a micSamples() index), the release then `ms` of samples later: a point on
   * the audio timeline, the same on every engine.
   */
  pressButton(ms: number, atSample?: number): void {
    this.assertRunning();
    const pin = this.board.button;
    const down = this.board.buttonActiveLow ? 0 : 1;
    const dev = this.device;
    if (atSample === undefined) {
      dev.setPinLevel(pin, down, dev.now);
      dev.at(dev.now + Math.max(0, ms), (t) => dev.setPinLevel(pin, 1 - down, t));
      return;
    }
    this.mic.atSample(atSample, (rate, t) => {
      dev.setPinLevel(pin, down, t);
      this.mic.atSample(atSample + Math.round((Math.max(0, ms) * rate) / 1000), (_, t2) =>
        dev.setPinLevel(pin, 1 - down, t2),
      );
    });
  }

  /**
   * Evaluate JavaScript on the device now, as typed at its REPL (charged like any job; the clock does
   * not move until the next advance()). Returns the completion value; throws what the code throws.
   */
  repl(code: string): unknown {
    this.assertRunning();
    return this.device.evaluate(code);
  }

  // ------------------------------------------------------------------------------ outputs

  /** Every sample the speaker played so far (8-bit unsigned, 128 = silence). */
  speakerSamples(): Uint8Array {
    return Uint8Array.from(this.speakerOut);
  }

  /**
   * Every sample the microphone ADC produced since create() (8-bit unsigned; at most the first 4 M),
   * across power cycles. The uplink audio must be a bit-exact slice of this.
   */
  micSamples(): Uint8Array {
    return this.mic.history.slice(0, this.mic.historyLength);
  }

  /** LED levels as last written (pin name -> 0/1). */
  leds(): Record<string, number> {
    return Object.fromEntries(this.device.leds);
  }

  /** Storage files (persist across power cycles of this instance). */
  storageFiles(): Record<string, Uint8Array> {
    return Object.fromEntries([...this.storage].map(([k, v]) => [k, new Uint8Array(v)]));
  }

  stats(): EarbudStatsFull {
    const d = this.device.stats;
    const l = this.device.link.stats;
    const p = this.prior;
    return {
      jsVarsUsed: this.device.measure(),
      jsVarsTotal: this.board.jsVars,
      overruns: p.overruns + d.overruns,
      handlerErrors: p.handlerErrors + d.handlerErrors,
      notificationsDropped: p.notificationsDropped + l.notificationsDropped,
      maxHandlerCost: Math.max(p.maxHandlerCost, d.maxHandlerCost),
      bootJsVars: this.bootJsVars,
      outOfMemory: p.outOfMemory + d.outOfMemory,
      watchdogResets: p.watchdogResets + d.watchdogResets,
      reboots: this.reboots,
      notificationsSent: p.notificationsSent + l.notificationsSent,
      notificationsTruncated: p.notificationsTruncated + l.notificationsTruncated,
      notificationsQueueFull: p.notificationsQueueFull + l.notificationsQueueFull,
      notificationsLost: p.notificationsLost + l.notificationsLost,
      writesDelivered: p.writesDelivered + l.writesDelivered,
      totalCost: p.totalCost + d.totalCost,
      inputHandlerCost: p.inputHandlerCost + d.inputHandlerCost,
      inputBuffers: p.inputBuffers + d.inputBuffers,
      uptimeMs: this.device.now,
      byKind: addTotals(p, d, l).byKind,
    };
  }

  // ------------------------------------------------------------------------------ power

  /** Cut power and boot again: RAM, timers and the connection are lost; Storage is kept. */
  powerCycle(): void {
    this.assertRunning();
    this.reboot('power cycle');
  }

  /** Stop the simulation (real-time pump included) and release everything. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.hostTimer !== null) clearInterval(this.hostTimer);
    this.hostTimer = null;
    this.device.halt();
  }

  private assertRunning(): void {
    if (this.stopped) throw new SimError('stopped', 'this simulated earbud was stopped');
  }

  private reboot(why: string, mode: BootMode = { kind: 'boot' }): void {
    const old = this.device;
    const simNow = this.bootOffset + old.now;
    this.logs.push(`[sim] reboot: ${why}`);
    // reset()/load() restart the interpreter only: the SoftDevice keeps the BLE connection.
    const soft = why.startsWith('reset(') || why.startsWith('load(');
    const keep = soft && old.link.central !== null ? { central: old.link.central, mtu: old.link.mtu } : null;
    if (keep === null) {
      if (old.link.connected) old.disconnectCentral('power-cycle');
      this.central = null;
    } else old.link.disconnect();
    if (!soft) this.random.srand(this.options.seed ?? 1); // a power-on seeds rand() again
    old.halt();
    this.prior = addTotals(this.prior, old.stats, old.link.stats);
    this.reboots++;
    this.bootOffset = simNow;
    this.powerOn(mode, keep);
  }

  /** The program a boot runs: the boot files from Storage, nothing, or one file. */
  private program(mode: BootMode): { source: string; name: string } {
    const text = (name: string): string | null => {
      const f = this.storage.get(name);
      return f === undefined ? null : Buffer.from(f).toString('latin1');
    };
    if (mode.kind === 'none') return { source: '', name: 'reset' };
    if (mode.kind === 'file') {
      const t = text(mode.name);
      if (t === null) this.logs.push(`[sim] load(): no file ${mode.name} in Storage`);
      return { source: t ?? '', name: mode.name };
    }
    let src = '';
    for (const f of ['.boot0', '.boot1', '.boot2', '.boot3']) src += (text(f) ?? '') + '\n';
    const code = text('.bootcde');
    // A bundle too big for Storage still runs (as if sent to RAM), with a warning at create().
    src += code ?? (this.bundleInStorage ? '' : this.source);
    return { source: src, name: `${this.board.id}.min.js` };
  }

  private powerOn(
    mode: BootMode = { kind: 'boot' },
    keep: { central: SimCentral; mtu: number } | null = null,
  ): void {
    const b = this.board;
    const link = this.options.link ?? {};
    this.device = new Device(
      {
        board: b.id,
        jsVars: b.jsVars,
        blocksize: b.jsVarBytes,
        deviceMaxMtu: Math.min(link.mtu ?? 247, CHIP_MTU[b.chip] ?? b.maxPayload + 3),
        packetsPerInterval: link.packetsPerInterval ?? b.packetsPerInterval,
        queueDepth: link.queueDepth ?? DEFAULT_QUEUE_DEPTH,
        dropRate: link.dropRate ?? 0,
        intervalMs: link.intervalMs,
        seed: (link.seed ?? 1) + this.reboots * 7919,
        cpuSpeed: this.options.cpuSpeed,
        code: this.options.upload ?? 'storage',
        button: b.button,
        buttonActiveLow: b.buttonActiveLow,
        defaultName: this.options.name ?? `${b.name.split(' ')[0]} ${this.addressSuffix()}`,
        random: this.random,
        storage: this.storage,
      },
      this.mic,
      this.logs,
      this.speakerOut,
    );
    if (keep !== null) this.device.adoptConnection(keep.central, keep.mtu);
    const prog = this.program(mode);
    const ok = this.device.boot(prog.source, prog.name);
    // Let E.on('init') handlers and anything queued at boot run before anyone can connect.
    for (let i = 0; i < 100; i++) {
      const b = this.device.busy();
      this.device.runUntil(b.until);
      if (!this.device.busy().pending) break;
    }
    this.bootJsVars = this.device.measure();
    if (!ok) this.logs.push('[sim] boot code threw at top level: the program stopped there');
  }

  private addressSuffix(): string {
    return this.address.slice(-5).replace(':', '').toLowerCase();
  }
}

function emptyTotals(): DeviceStats & LinkStats {
  return { ...emptyDeviceStats(), ...emptyLinkStats() };
}

function addTotals(a: DeviceStats & LinkStats, d: DeviceStats, l: LinkStats): DeviceStats & LinkStats {
  const out = { ...a };
  for (const k of Object.keys(d) as (keyof DeviceStats)[]) {
    if (k === 'byKind') continue;
    out[k] = k === 'maxHandlerCost' ? Math.max(a[k], d[k]) : a[k] + d[k];
  }
  out.byKind = { ...a.byKind };
  for (const [kind, v] of Object.entries(d.byKind)) {
    const o = out.byKind[kind] ?? { jobs: 0, cost: 0, max: 0 };
    out.byKind[kind] = { jobs: o.jobs + v.jobs, cost: o.cost + v.cost, max: Math.max(o.max, v.max) };
  }
  for (const k of Object.keys(l) as (keyof LinkStats)[]) out[k] = a[k] + l[k];
  return out;
}
