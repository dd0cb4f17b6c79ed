/**
 * Device configuration: defaults from the board profile, validation per key, byte encodings of
 * CONFIG values (docs/PROTOCOL.md §CONFIG: u16 little-endian for rates and durations, u8 for levels,
 * printable ASCII for NAME), persistence through the HAL store.
 */
import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, NAME_MAX } from '@budlink/protocol';
import { linkBytesPerSecond, pacedFramesPerSecond } from '../../boards/index';
import type { BoardProfile } from '../../boards/index';

export interface Config {
  sampleRate: number;
  vadThreshold: number;
  preRollMs: number;
  maxUtteranceMs: number;
  hangoverMs: number;
  wakeSensitivity: number;
  volume: number;
  name: string;
}

/** Storage file holding the persisted config (JSON). */
export const CONFIG_FILE = 'budlink.json';

/**
 * Per CONFIG key (index = ConfigKey value, 1..8): the Config field and its byte width (0 = ASCII). Kept as
 * two strings: on Espruino a table of small arrays costs ~40 JsVars more for the program's lifetime.
 */
const FIELD_NAMES =
  ',sampleRate,vadThreshold,preRollMs,maxUtteranceMs,hangoverMs,wakeSensitivity,volume,name';
const FIELD_WIDTHS = '021222110';

/** [field, width] of a known key, or null. */
function fieldSpec(key: number): [string, number] | null {
  const name = key >= 1 && key <= 8 && key === (key | 0) ? FIELD_NAMES.split(',')[key] : undefined;
  return name ? [name, +(FIELD_WIDTHS[key] as string)] : null;
}

/** Ring time (ms) reserved beyond the pre-roll for the wake detector's latency and uplink backlog. */
export const RING_MARGIN_MS = 300;

export function defaultConfig(board: BoardProfile): Config {
  return {
    sampleRate: board.sampleRate,
    vadThreshold: 48,
    preRollMs: 500,
    maxUtteranceMs: 15000,
    hangoverMs: 1200,
    wakeSensitivity: 160,
    volume: 255,
    // a CONFIG NAME value: at most NAME_MAX bytes ("Budlink nrf52840dk" would be 18)
    name: ('Budlink ' + board.id).slice(0, NAME_MAX),
  };
}

/**
 * Highest mic rate a board accepts: what both its link and its pacer sustain at its full payload
 * (8-bit samples), in steps of 500 Hz, capped by the protocol (docs/FIRMWARE.md §Link-rate arithmetic).
 */
export function maxRate(board: BoardProfile): number {
  const link = linkBytesPerSecond(board, board.maxPayload);
  const paced = pacedFramesPerSecond(board) * (board.maxPayload - 4);
  const r = Math.floor((link < paced ? link : paced) / 500) * 500;
  return r > MAX_SAMPLE_RATE ? MAX_SAMPLE_RATE : r;
}

/** Longest pre-roll the sample ring holds at `rate`. */
export function maxPreRollMs(board: BoardProfile, rate: number): number {
  const ms = ((board.ringBytes * 1000) / rate - RING_MARGIN_MS) | 0;
  return ms > 0 ? ms : 0;
}

/** Why `value` is not valid for `field` given `cfg` (for cross-field rules), or null if valid. */
export function checkValue(
  board: BoardProfile,
  cfg: Config,
  field: string,
  value: number | string,
): string | null {
  if (field === 'name') {
    const s = value as string;
    if (typeof s !== 'string' || s.length < 1 || s.length > NAME_MAX)
      return 'name: 1..' + NAME_MAX + ' chars';
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return 'name: printable ASCII only';
    }
    return null;
  }
  const v = value as number;
  if (typeof v !== 'number' || v !== (v | 0)) return field + ': not an integer';
  let lo = 0;
  let hi = 255;
  if (field === 'sampleRate') {
    lo = MIN_SAMPLE_RATE;
    hi = maxRate(board);
    if (v >= lo && v <= hi && cfg.preRollMs > maxPreRollMs(board, v))
      return 'sampleRate: pre-roll would not fit';
  } else if (field === 'vadThreshold') lo = 17;
  else if (field === 'preRollMs') hi = maxPreRollMs(board, cfg.sampleRate);
  else if (field === 'maxUtteranceMs') {
    lo = 1000;
    hi = 65535;
  } else if (field === 'hangoverMs') {
    lo = 100;
    hi = 5000;
  } else if (field !== 'wakeSensitivity' && field !== 'volume') return field + ': unknown';
  if (v < lo || v > hi) return field + ': ' + v + ' not in ' + lo + '..' + hi;
  return null;
}

/** The Config field for a CONFIG key, or undefined if the key is unknown. */
export function fieldOf(key: number): string | undefined {
  const f = fieldSpec(key);
  return f ? f[0] : undefined;
}

/** Encode the current value of `key` (undefined for an unknown key). */
export function encodeValue(cfg: Config, key: number): Uint8Array | undefined {
  const f = fieldSpec(key);
  if (!f) return undefined;
  const v = (cfg as unknown as Record<string, number | string>)[f[0]];
  if (f[1] === 0) {
    const s = v as string;
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  const n = v as number;
  return f[1] === 1 ? new Uint8Array([n & 0xff]) : new Uint8Array([n & 0xff, (n >> 8) & 0xff]);
}

/** Decode a CONFIG SET value for `key`: the number or string, or an error message. */
export function decodeValue(key: number, bytes: Uint8Array): { value: number | string } | { error: string } {
  const f = fieldSpec(key);
  if (!f) return { error: 'unknown config key ' + key };
  const w = f[1];
  if (w === 0) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i] as number);
    return { value: s };
  }
  if (bytes.length !== w) return { error: f[0] + ': expected ' + w + ' bytes, got ' + bytes.length };
  return { value: w === 1 ? (bytes[0] as number) : (bytes[0] as number) | ((bytes[1] as number) << 8) };
}

/**
 * Merge a persisted object over the defaults, keeping only valid fields (a corrupt or older file
 * never stops the boot). Returns the config and how many fields were rejected.
 */
export function loadConfig(board: BoardProfile, stored: unknown): { config: Config; rejected: number } {
  const cfg = defaultConfig(board);
  let rejected = 0;
  if (!stored || typeof stored !== 'object') return { config: cfg, rejected: stored === undefined ? 0 : 1 };
  const src = stored as Record<string, unknown>;
  const rec = cfg as unknown as Record<string, unknown>;
  const pre = src.preRollMs;
  const dflt = cfg.preRollMs;
  // The rate is judged with the stored pre-roll (checked last, against the rate finally in force).
  if (pre !== undefined) cfg.preRollMs = 0;
  const order = [
    'sampleRate',
    'vadThreshold',
    'maxUtteranceMs',
    'hangoverMs',
    'wakeSensitivity',
    'volume',
    'name',
  ];
  for (let i = 0; i < order.length; i++) {
    const k = order[i] as string;
    if (src[k] === undefined) continue;
    if (checkValue(board, cfg, k, src[k] as number | string) === null) rec[k] = src[k];
    else rejected++;
  }
  if (pre !== undefined && checkValue(board, cfg, 'preRollMs', pre as number) === null)
    cfg.preRollMs = pre as number;
  else {
    if (pre !== undefined) rejected++;
    const most = maxPreRollMs(board, cfg.sampleRate);
    cfg.preRollMs = dflt < most ? dflt : most;
  }
  return { config: cfg, rejected: rejected };
}
