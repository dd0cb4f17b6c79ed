/**
 * The HAL over Espruino's globals: the only firmware code that touches them. Each global is bound
 * module-locally with `declare const` (typed by ./espruino.d.ts), so nothing else can reach them.
 *
 * Memory (measured on the real interpreter): a method costs ~5 JsVars plus one per parameter; a closure
 * made inside a method costs that plus a copy of its scope chain. So the HAL is one class, natives are
 * held directly (`this.sum = E.sum`: no wrapper function, no JS call on the hot path), and the only
 * closures are the handlers Espruino calls (one per event source, made once). Both Waveforms and the
 * notify/update objects are created once and reused: nothing is allocated per audio buffer here.
 */
import { DOWNLINK_UUID, SERVICE_UUID, UPLINK_UUID } from '@budlink/protocol';
import type { BoardProfile } from '../../../boards/index';
import type { Hal, HalSink } from '../types';
import type { EspruinoGlobals, NrfServiceDefs, Pin, WaveformInstance } from './espruino';

declare const Waveform: EspruinoGlobals['Waveform'];
declare const NRF: EspruinoGlobals['NRF'];
declare const E: EspruinoGlobals['E'];
declare const getTime: EspruinoGlobals['getTime'];
declare const setTimeout: EspruinoGlobals['setTimeout'];
declare const setInterval: EspruinoGlobals['setInterval'];
declare const clearTimeout: EspruinoGlobals['clearTimeout'];
declare const clearInterval: EspruinoGlobals['clearInterval'];
declare const setWatch: EspruinoGlobals['setWatch'];
declare const digitalWrite: EspruinoGlobals['digitalWrite'];
declare const analogWrite: EspruinoGlobals['analogWrite'];
declare const global: EspruinoGlobals['global'];
declare const console: EspruinoGlobals['console'];
declare const require: EspruinoGlobals['require'];
declare const process: EspruinoGlobals['process'];

/** A profile pin name as Espruino wants it: the global of that name if any (LED1, BTN1), else the name. */
function pin(name: string): Pin {
  const g = global[name];
  return g !== undefined ? (g as Pin) : name;
}

/** Sink calls by number (index into the names in call()), so that one guarded dispatcher serves the rarer event sources. */
const SPEAKER = 1;
const CONNECT = 2;
const DISCONNECT = 3;
const BUTTON = 5;

export class EspruinoHal implements Hal {
  readonly board: BoardProfile;
  sink: HalSink | null = null;
  readonly ledCount: number;
  // Natives that ignore `this`, held directly.
  setTimeout = setTimeout;
  setInterval = setInterval;
  clearTimeout = clearTimeout;
  clearInterval = clearInterval;
  sum = E.sum;
  variance = E.variance;
  kick = E.kickWatchdog;
  private mic: WaveformInstance | null = null;
  private spk: WaveformInstance | null = null;
  private advName = '';
  // Reused update objects: NRF.updateServices({svc: {uplink: {value, notify}}}).
  private up: { value: Uint8Array; notify: boolean } = { value: new Uint8Array(0), notify: true };
  private upd: Record<string, Record<string, { value: Uint8Array; notify: boolean }>> = {};

  constructor(board: BoardProfile) {
    this.board = board;
    this.ledCount = board.leds.length;
    const svc: Record<string, { value: Uint8Array; notify: boolean }> = {};
    svc[UPLINK_UUID] = this.up;
    this.upd[SERVICE_UUID] = svc;
    // The speaker's buffers are allocated at boot, not at the first reply: a typed array needs its
    // JsVars in one contiguous run, which a heap fragmented by a conversation may no longer have
    // (measured: with 90% of Puck.js's JsVars the first reply failed with a MEMORY error).
    if (board.speaker) this.spk = this.speakerWave(board.playbackBufferSamples);
  }

  private speakerWave(samples: number): WaveformInstance {
    const w = new Waveform(samples, { doubleBuffer: true, bits: 8 });
    w.on('buffer', (buf) => this.call(SPEAKER, buf));
    return w;
  }

  attach(sink: HalSink): void {
    this.sink = sink;
  }

  /**
   * Deliver one hardware event to the sink; an exception is reported, never propagated to Espruino.
   * (The two frequent ones, mic buffers and downlink writes, have handlers of their own that do the
   * same without the dispatch: see startMic and startBle.)
   */
  private call(what: number, a?: unknown, b?: unknown): void {
    const s = this.sink as HalSink;
    try {
      if (what === SPEAKER) s.onSpeaker(a as Uint8Array);
      else if (what === CONNECT) s.onConnect();
      else if (what === DISCONNECT) s.onDisconnect();
      else s.onButton(a as boolean, b as number);
    } catch (e) {
      s.fail(['mic', 'speaker', 'connect', 'disconnect', 'write', 'button'][what] as string, e);
    }
  }

  now(): number {
    return getTime() * 1000;
  }

  mapInPlace(from: Uint8Array, to: Uint8Array, lut: Uint8Array): void {
    E.mapInPlace(from, to, lut, 8);
  }

  startMic(rate: number, samples: number): string | null {
    const m = this.board.mic;
    if (m.source !== 'analog') return m.source + ' microphone not supported by this build';
    if (m.powerPin) digitalWrite(pin(m.powerPin), 1);
    let w = this.mic;
    if (!w || w.buffer.length !== samples) {
      w = this.mic = new Waveform(samples, { doubleBuffer: true, bits: 8 });
      w.on('buffer', (buf) => {
        const s = this.sink as HalSink;
        try {
          s.onMic(buf, getTime() * 1000);
        } catch (e) {
          s.fail('mic', e);
        }
      });
    }
    // Waveform.stop() takes effect in the idle loop: a microphone stopped in this job (a new rate)
    // cannot start again until then ("Waveform is already running"), so start it from a timer.
    if (w.running) setTimeout(() => this.startMic(rate, samples), 1);
    else w.startInput(pin(m.pin), rate, { repeat: true });
    return null;
  }

  stopMic(): void {
    const w = this.mic;
    if (w && w.running) w.stop();
  }

  startSpeaker(rate: number, samples: number): string | null {
    const s = this.board.speaker;
    if (!s) return 'no speaker';
    let w = this.spk;
    if (!w || w.buffer.length !== samples) w = this.spk = this.speakerWave(samples);
    if (w.running) {
      // stopped in this job (see startMic): start once the idle loop has stopped it
      setTimeout(() => this.startSpeaker(rate, samples), 1);
      return null;
    }
    if (s.powerPin) digitalWrite(pin(s.powerPin), 1);
    this.call(SPEAKER, w.buffer);
    this.call(SPEAKER, w.buffer2);
    analogWrite(pin(s.pin), 0.5, { freq: s.pwmFreq });
    if (s.npin) {
      analogWrite(pin(s.npin), 0.5, { freq: s.pwmFreq });
      w.startOutput(pin(s.pin), rate, { repeat: true, npin: pin(s.npin) });
    } else w.startOutput(pin(s.pin), rate, { repeat: true });
    return null;
  }

  stopSpeaker(): void {
    const s = this.board.speaker;
    const w = this.spk;
    if (w && w.running) w.stop();
    if (s) {
      digitalWrite(pin(s.pin), 0);
      if (s.npin) digitalWrite(pin(s.npin), 0);
      if (s.powerPin) digitalWrite(pin(s.powerPin), 0);
    }
  }

  startBle(name: string, maxPayload: number): void {
    const chars: NrfServiceDefs[string] = {};
    chars[UPLINK_UUID] = { value: new Uint8Array(0), maxLen: maxPayload, readable: true, notify: true };
    chars[DOWNLINK_UUID] = {
      value: new Uint8Array(0),
      maxLen: maxPayload,
      writable: true,
      onWrite: (evt) => {
        const s = this.sink as HalSink;
        try {
          s.onWrite(new Uint8Array(evt.data));
        } catch (e) {
          s.fail('write', e);
        }
      },
    };
    const defs: NrfServiceDefs = {};
    defs[SERVICE_UUID] = chars;
    NRF.setServices(defs, { uart: true, advertise: [SERVICE_UUID] });
    this.setName(name);
    NRF.setConnectionInterval(7.5);
    NRF.on('connect', () => {
      NRF.setConnectionInterval(7.5);
      this.call(CONNECT);
    });
    NRF.on('disconnect', () => this.call(DISCONNECT));
  }

  notify(frame: Uint8Array): boolean {
    this.up.value = frame;
    try {
      NRF.updateServices(this.upd);
      return true;
    } catch {
      return false;
    }
  }

  notifier(frame: Uint8Array): [(arg: unknown) => void, unknown] {
    // its own update objects: notify() changes the value of its own ones
    const svc: Record<string, { value: Uint8Array; notify: boolean }> = {};
    svc[UPLINK_UUID] = { value: frame, notify: true };
    const upd: Record<string, Record<string, { value: Uint8Array; notify: boolean }>> = {};
    upd[SERVICE_UUID] = svc;
    return [NRF.updateServices as (arg: unknown) => void, upd];
  }

  setValue(frame: Uint8Array): void {
    // rare (a new HELLO value): its own update objects, so notify() never has to reset `notify`
    const svc: Record<string, { value: Uint8Array }> = {};
    svc[UPLINK_UUID] = { value: frame };
    const upd: Record<string, Record<string, { value: Uint8Array }>> = {};
    upd[SERVICE_UUID] = svc;
    NRF.updateServices(upd);
  }

  setName(name: string): void {
    if (name === this.advName) return;
    this.advName = name;
    NRF.setAdvertising({}, { name: name, connectable: true });
  }

  led(i: number, on: boolean): void {
    const p = this.board.leds[i];
    if (p !== undefined) digitalWrite(pin(p), on !== this.board.ledActiveLow);
  }

  watchButton(): void {
    setWatch(
      (e) => this.call(BUTTON, e.state !== this.board.buttonActiveLow, e.time * 1000),
      pin(this.board.button),
      {
        repeat: true,
        edge: 'both',
        debounce: 25,
      },
    );
  }

  load(name: string): unknown {
    return require('Storage').readJSON(name, true);
  }

  save(name: string, value: unknown): boolean {
    try {
      return require('Storage').writeJSON(name, value) !== false;
    } catch {
      return false;
    }
  }

  freeVars(): number {
    return process.memory(false).free;
  }

  battery(): number {
    const b = E.getBattery ? E.getBattery() : 255;
    return b >= 0 && b <= 100 ? Math.round(b) : 255;
  }

  watchdog(s: number): void {
    E.enableWatchdog(s, false);
    // The nRF52 watchdog cannot be stopped: before reset()/save() (as an upload does) hand kicking
    // to Espruino's idle loop, so the REPL and a re-flash are not cut short by a reboot.
    E.on('kill', () => E.enableWatchdog(s, true));
  }

  log(text: string): void {
    console.log(text);
  }

  random32(): number {
    return (Math.random() * 0x100000000) >>> 0;
  }
}
