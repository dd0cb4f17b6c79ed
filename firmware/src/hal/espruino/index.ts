/**
 * The HAL over Espruino's globals: the only firmware code that touches them. Each global is bound
 * module-locally with `declare const` (typed by ./espruino.d.ts), so nothing else can reach them.
 *
 * Allocation: both Waveforms (mic and speaker) and the notify/update objects are created once and
 * reused; nothing is allocated per audio buffer here.
 */
import { DOWNLINK_UUID, SERVICE_UUID, UPLINK_UUID } from '@budlink/protocol';
import type { BoardProfile } from '../../../boards/index';
import type { Hal } from '../types';
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

/** A profile pin name as Espruino wants it: the global of that name if any (LED1, MIC), else the name. */
function pin(name: string): Pin {
  const g = global[name];
  return g !== undefined ? (g as Pin) : name;
}

export function createEspruinoHal(board: BoardProfile): Hal {
  let mic: WaveformInstance | null = null;
  let micHandler: (buf: Uint8Array) => void = () => undefined;
  let spk: WaveformInstance | null = null;
  let spkHandler: (buf: Uint8Array) => void = () => undefined;
  let maxLen = board.maxPayload;
  // Reused update objects: NRF.updateServices({svc: {uplink: {value, notify}}}), no computed keys.
  const upNotify: { value: Uint8Array; notify: boolean } = { value: new Uint8Array(0), notify: true };
  const upSet: { value: Uint8Array; notify: boolean } = { value: new Uint8Array(0), notify: false };
  const notifySvc: Record<string, typeof upNotify> = {};
  notifySvc[UPLINK_UUID] = upNotify;
  const setSvc: Record<string, typeof upSet> = {};
  setSvc[UPLINK_UUID] = upSet;
  const notifyUpd: Record<string, Record<string, typeof upNotify>> = {};
  notifyUpd[SERVICE_UUID] = notifySvc;
  const setUpd: Record<string, Record<string, typeof upSet>> = {};
  setUpd[SERVICE_UUID] = setSvc;
  let advName = '';

  const hal: Hal = {
    // Natives that ignore `this` are referenced directly: no wrapper closure (JsVars) and no JS call
    // (interpreter time) on the hot paths (VAD per mic buffer, timers, the watchdog kick per tick).
    clock: {
      now: () => getTime() * 1000,
      setTimeout: setTimeout,
      setInterval: setInterval,
      clearTimeout: clearTimeout,
      clearInterval: clearInterval,
    },
    dsp: {
      sum: E.sum,
      variance: E.variance,
      mapInPlace: (from, to, lut) => E.mapInPlace(from, to, lut, 8),
    },
    audio: {
      startMic: (o) => {
        if (board.mic.source !== 'analog')
          return board.mic.source + ' microphone not supported by this build';
        if (board.mic.powerPin) digitalWrite(pin(board.mic.powerPin), 1);
        micHandler = o.onBuffer;
        if (!mic || mic.buffer.length !== o.samples) {
          mic = new Waveform(o.samples, { doubleBuffer: true, bits: 8 });
          mic.on('buffer', (buf) => micHandler(buf));
        }
        mic.startInput(pin(board.mic.pin), o.rate, { repeat: true });
        return null;
      },
      stopMic: () => {
        if (mic && mic.running) mic.stop();
      },
      startSpeaker: (o) => {
        const s = board.speaker;
        if (!s) return 'no speaker';
        spkHandler = o.onNeed;
        if (!spk || spk.buffer.length !== o.samples) {
          spk = new Waveform(o.samples, { doubleBuffer: true, bits: 8 });
          spk.on('buffer', (buf) => spkHandler(buf));
        }
        if (spk.running) spk.stop();
        if (s.powerPin) digitalWrite(pin(s.powerPin), 1);
        spkHandler(spk.buffer);
        spkHandler(spk.buffer2 as Uint8Array);
        analogWrite(pin(s.pin), 0.5, { freq: s.pwmFreq });
        if (s.npin) {
          analogWrite(pin(s.npin), 0.5, { freq: s.pwmFreq });
          spk.startOutput(pin(s.pin), o.rate, { repeat: true, npin: pin(s.npin) });
        } else spk.startOutput(pin(s.pin), o.rate, { repeat: true });
        return null;
      },
      stopSpeaker: () => {
        const s = board.speaker;
        if (spk && spk.running) spk.stop();
        if (s) {
          digitalWrite(pin(s.pin), 0);
          if (s.npin) digitalWrite(pin(s.npin), 0);
          if (s.powerPin) digitalWrite(pin(s.powerPin), 0);
        }
      },
    },
    ble: {
      start: (name, payload, h) => {
        maxLen = payload;
        const chars: NrfServiceDefs[string] = {};
        chars[UPLINK_UUID] = { value: new Uint8Array(0), maxLen: maxLen, readable: true, notify: true };
        chars[DOWNLINK_UUID] = {
          value: new Uint8Array(0),
          maxLen: maxLen,
          writable: true,
          onWrite: (evt) => h.onWrite(new Uint8Array(evt.data)),
        };
        const defs: NrfServiceDefs = {};
        defs[SERVICE_UUID] = chars;
        NRF.setServices(defs, { uart: true, advertise: [SERVICE_UUID] });
        advName = name;
        NRF.setAdvertising({}, { name: name, connectable: true });
        NRF.setConnectionInterval(7.5);
        NRF.on('connect', () => {
          NRF.setConnectionInterval(7.5);
          h.onConnect();
        });
        NRF.on('disconnect', () => h.onDisconnect());
      },
      notify: (frame) => {
        upNotify.value = frame;
        try {
          NRF.updateServices(notifyUpd);
          return true;
        } catch {
          return false;
        }
      },
      setValue: (frame) => {
        upSet.value = frame;
        NRF.updateServices(setUpd);
      },
      setName: (name) => {
        if (name === advName) return;
        advName = name;
        NRF.setAdvertising({}, { name: name, connectable: true });
      },
    },
    io: {
      ledCount: board.leds.length,
      led: (i, on) => {
        const p = board.leds[i];
        if (p !== undefined) digitalWrite(pin(p), on !== board.ledActiveLow);
      },
      onButton: (handler) => {
        setWatch((e) => handler(e.state !== board.buttonActiveLow, e.time * 1000), pin(board.button), {
          repeat: true,
          edge: 'both',
          debounce: 25,
        });
      },
    },
    store: {
      read: (name) => require('Storage').readJSON(name, true),
      write: (name, value) => {
        try {
          return require('Storage').writeJSON(name, value) !== false;
        } catch {
          return false;
        }
      },
    },
    sys: {
      memory: () => {
        const m = process.memory(false);
        return { free: m.free, total: m.total };
      },
      battery: () => {
        const b = E.getBattery ? E.getBattery() : 255;
        return b >= 0 && b <= 100 ? Math.round(b) : 255;
      },
      enableWatchdog: (s) => {
        E.enableWatchdog(s, false);
        // The nRF52 watchdog cannot be stopped: before reset()/save() (as an upload does) hand kicking
        // to Espruino's idle loop, so the REPL and a re-flash are not cut short by a reboot.
        E.on('kill', () => E.enableWatchdog(s, true));
      },
      kickWatchdog: E.kickWatchdog,
      log: (text) => console.log(text),
      random32: () => (Math.random() * 0x100000000) >>> 0,
    },
  };
  return hal;
}
