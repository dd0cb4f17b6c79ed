/**
 * Board profiles: everything board-specific the firmware needs. The build injects one profile into each
 * bundle (firmware/dist/<id>.js); the simulator and the host import this module to know each board.
 *
 * Sample rates follow from the link capacity (docs/FIRMWARE.md §Link-rate arithmetic):
 *   audio bytes per frame = payload - 4 (header); frames/s ceiling = packetsPerInterval / 7.5 ms;
 *   practical ≈ 0.9 × ceiling (Espruino's measured 2.5–3 kB/s with 20-byte payloads is 0.9 of
 *   133 × 20 B/s). nRF52840: 2 × 133 × 124 × 0.9 ≈ 29.7 kB/s ≫ 8 kB/s at 8 kHz. nRF52832/833 at 50-byte
 *   payloads: 133 × 46 × 0.9 ≈ 5.5 kB/s, so 4 kHz (4 kB/s, 72 % of it) leaves ~28 % for re-sends.
 *
 * Pins are Espruino pin names (at most 4 characters, e.g. "D31", "LED1") or names of globals the
 * board's firmware defines (the HAL resolves `global[name]` first).
 *
 * This file is compiled into the firmware bundle: Espruino subset only (no spread, no destructuring).
 * The link-rate arithmetic on these profiles is rates.ts; index.ts re-exports both.
 */

export type MicSource = 'analog' | 'pdm';
export type Chip = 'nrf52832' | 'nrf52833' | 'nrf52840';

export interface MicProfile {
  /** 'analog': ADC via Waveform.startInput; 'pdm': the nRF PDM peripheral (Thingy:52). */
  source: MicSource;
  /** ADC pin (analog) or PDM data-in pin (pdm). */
  pin: string;
  /** PDM clock pin (pdm only). */
  clockPin?: string;
  /** Pin driven high to power the microphone, if the board gates it. */
  powerPin?: string;
}

export interface SpeakerProfile {
  pin: string;
  /** Second pin driven with the inverted signal (differential, Espruino 2v25+). */
  npin?: string;
  /** PWM carrier frequency for analogWrite before Waveform.startOutput (Hz, 40–80 kHz). */
  pwmFreq: number;
  /** Pin driven high to power the amplifier, if any. */
  powerPin?: string;
}

export interface PacingProfile {
  /** Sender tick period in ms. */
  tickMs: number;
  /**
   * Token-bucket depth: notifications the pacer may queue at once after the link has been idle. The
   * bucket refills at the link's drain rate (`drainPerSecond`) by elapsed time, so back-to-back ticks
   * (after a long job) cannot overfill the stack's TX queue. At most `TX_QUEUE − packetsPerInterval`:
   * between two connection events the bucket gains up to one event's worth before the queue drains it.
   */
  burst: number;
}

export interface BoardProfile {
  /** Short id: bundle name and HELLO.board (ASCII, <= 16 bytes). */
  id: string;
  /** Human name. */
  name: string;
  chip: Chip;
  mic: MicProfile;
  /** Default microphone (and uplink) sample rate, Hz. */
  sampleRate: number;
  /** null when the board has no speaker output: no PLAYBACK capability. */
  speaker: SpeakerProfile | null;
  /** Button pin; tap = press shorter than 600 ms. */
  button: string;
  /** True when the button reads 0 while pressed (needs the internal pull-up). */
  buttonActiveLow: boolean;
  /** LED pins, index 0 = first (red on RGB boards). */
  leds: string[];
  /** True when an LED lights with digitalWrite(pin, 0). */
  ledActiveLow: boolean;
  /** Largest frame the device builds: its ATT MTU − 3 (HELLO.maxPayload). */
  maxPayload: number;
  /** Connection-event packets the radio manages (link model hint; 1 on nRF52832). */
  packetsPerInterval: number;
  /** Size of the JsVar heap (process.memory().total). */
  jsVars: number;
  /** Bytes per JsVar on this build (13 or 14; process.memory().blocksize). */
  jsVarBytes: number;
  /**
   * Samples per Waveform buffer (two are allocated). Every buffer costs a ring copy and a handful of
   * statements however long it is, so longer buffers cost less CPU (docs/FIRMWARE.md §CPU budget) but delay the gate's decisions
   * by up to one buffer, and the gate's delay plus the pre-roll must stay within the ring's safe backlog
   * (ringBytes − 2 buffers), or the utterance's start cannot be sent before it is overwritten.
   */
  bufferSamples: number;
  /** Audio frames kept for re-send until ACKed (HELLO.ringFrames). */
  ringFrames: number;
  /** Sample ring: pre-roll plus uplink backlog, bytes. Must exceed preRollMs × rate / 1000. */
  ringBytes: number;
  /** Playback ring, bytes. */
  playbackBytes: number;
  /** Samples per output Waveform buffer (two are allocated). */
  playbackBufferSamples: number;
  pacing: PacingProfile;
}

export const BOARDS: Record<string, BoardProfile> = {
  nrf52840dk: {
    id: 'nrf52840dk',
    name: 'Nordic nRF52840 DK + analog mic (MAX4466) + speaker',
    chip: 'nrf52840',
    mic: { source: 'analog', pin: 'D3' },
    sampleRate: 8000,
    speaker: { pin: 'D28', npin: 'D29', pwmFreq: 62500 },
    // Espruino's NRF52840DK build negates BTN1-4 and LED1-4 in software (the board is wired active
    // low): JavaScript reads 1 while the button is pressed and lights an LED with 1.
    button: 'BTN1',
    buttonActiveLow: false,
    leds: ['LED1', 'LED2', 'LED3', 'LED4'],
    ledActiveLow: false,
    maxPayload: 128,
    packetsPerInterval: 2,
    jsVars: 12500,
    jsVarBytes: 14,
    bufferSamples: 1024,
    ringFrames: 64,
    ringBytes: 12288,
    playbackBytes: 4096,
    playbackBufferSamples: 256,
    pacing: { tickMs: 30, burst: 4 },
  },
  puckjs: {
    id: 'puckjs',
    name: 'Puck.js (nRF52832) + analog mic on D30 + speaker',
    chip: 'nrf52832',
    mic: { source: 'analog', pin: 'D30' },
    sampleRate: 4000,
    speaker: { pin: 'D1', npin: 'D2', pwmFreq: 40000 },
    button: 'BTN1',
    buttonActiveLow: false,
    leds: ['LED1', 'LED2', 'LED3'],
    ledActiveLow: false,
    maxPayload: 50,
    packetsPerInterval: 1,
    jsVars: 2630,
    jsVarBytes: 13,
    bufferSamples: 512,
    ringFrames: 16,
    ringBytes: 4096,
    // 512 B (128 ms at 4 kHz), not 1,024: with the whole scenario set on 90% of its JsVars the first
    // reply failed for want of a contiguous block; the link delivers PLAY frames faster than they play
    playbackBytes: 512,
    playbackBufferSamples: 128,
    pacing: { tickMs: 36, burst: 5 },
  },
  mdbt42q: {
    id: 'mdbt42q',
    name: 'MDBT42Q breakout (nRF52832) + analog mic on D31 + speaker',
    chip: 'nrf52832',
    mic: { source: 'analog', pin: 'D31' },
    sampleRate: 4000,
    speaker: { pin: 'D25', npin: 'D26', pwmFreq: 40000 },
    button: 'BTN1',
    buttonActiveLow: false,
    leds: ['LED1', 'LED2'],
    ledActiveLow: false,
    maxPayload: 50,
    packetsPerInterval: 1,
    jsVars: 2950,
    jsVarBytes: 13,
    bufferSamples: 512,
    ringFrames: 16,
    ringBytes: 4096,
    playbackBytes: 1024,
    playbackBufferSamples: 128,
    pacing: { tickMs: 36, burst: 5 },
  },
  thingy52: {
    id: 'thingy52',
    name: 'Nordic Thingy:52 (nRF52832, PDM mic, speaker)',
    chip: 'nrf52832',
    // Thingy:52: MIC_DOUT D25, MIC_CLK D26, mic power on the IO expander (V9).
    mic: { source: 'pdm', pin: 'D25', clockPin: 'D26' },
    sampleRate: 4000,
    speaker: { pin: 'D27', pwmFreq: 40000, powerPin: 'D29' },
    button: 'BTN1', // negated in software by Espruino's THINGY52 build: reads 1 while pressed
    buttonActiveLow: false,
    leds: ['LED1', 'LED2', 'LED3'],
    ledActiveLow: false,
    maxPayload: 50,
    packetsPerInterval: 1,
    jsVars: 2500,
    jsVarBytes: 13,
    bufferSamples: 512,
    ringFrames: 16,
    ringBytes: 4096,
    // 512 B, as on Puck.js: with 1,024 the playback scenario on 90% of its JsVars ran out of memory
    playbackBytes: 512,
    playbackBufferSamples: 128,
    pacing: { tickMs: 36, burst: 5 },
  },
  microbit2: {
    id: 'microbit2',
    name: 'BBC micro:bit v2 (nRF52833, built-in analog mic and speaker)',
    chip: 'nrf52833',
    // Espruino's MICROBIT2 build: the mic is pin H4 (Microbit.MIC), its enable H5 (Microbit.MIC_ENABLE),
    // the speaker H3 (Microbit.SPEAKER); there are no MIC/SPEAKER globals. BTN1 is negated in software.
    mic: { source: 'analog', pin: 'H4', powerPin: 'H5' },
    sampleRate: 4000,
    speaker: { pin: 'H3', pwmFreq: 40000 },
    button: 'BTN1',
    buttonActiveLow: false,
    leds: [],
    ledActiveLow: false,
    maxPayload: 50,
    packetsPerInterval: 1,
    jsVars: 6000,
    jsVarBytes: 13,
    bufferSamples: 512,
    ringFrames: 32,
    ringBytes: 8192,
    playbackBytes: 2048,
    playbackBufferSamples: 128,
    pacing: { tickMs: 36, burst: 5 },
  },
};

/** Profile by id, or undefined. */
export function getBoard(id: string): BoardProfile | undefined {
  const b = BOARDS[id];
  return b && b.id === id ? b : undefined;
}
