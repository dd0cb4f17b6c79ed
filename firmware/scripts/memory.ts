/**
 * Boot-time JsVar estimate for a board's bundle (docs/FIRMWARE.md §Memory budget). An estimate, not a
 * measurement: the device's own figure is STATUS.freeVars (process.memory().free).
 *
 * Model (Espruino 2v2x, 32-bit builds, 13–14-byte JsVars):
 * - A typed array of n bytes = its flat-string data ceil(n / jsVarBytes) + 3 vars (flat-string header,
 *   ArrayBuffer, view): Uint8Array(4096) ≈ 296 at 14 bytes, matching ESPRUINO.md's ~300.
 * - Code uploaded to RAM: Espruino keeps each function's source text as a string, ~12 characters per
 *   JsVar, so ≈ minBytes / 12, plus ~3 vars per function object.
 * - Code saved to flash (Storage file + load(), or E.setBootCode): function bodies stay in flash and
 *   are referenced, so each function costs ~3 vars (function, code reference, scope link) and the source
 *   text costs nothing.
 * - Object state: ~2 vars per property (name + value) for every distinct `this.x` field and every
 *   property of the injected board profile; RetransmitWindow slots 2 vars each.
 */
import { parse } from 'acorn';
import { simple } from 'acorn-walk';
import type { Node } from 'acorn';
import type { BoardProfile } from '../boards/index';

export interface MemoryEstimate {
  jsVars: number;
  /** Functions in the minified bundle. */
  functions: number;
  /** JsVars of code when uploaded to RAM. */
  codeRam: number;
  /** JsVars of code when saved to flash. */
  codeFlash: number;
  /** JsVars of object state (fields, profile, window slots). */
  state: number;
  /** JsVars of boot-time buffers (mic, ring, playback, speaker, LUT) and a full retransmit window. */
  buffers: number;
  /** Per buffer, JsVars. */
  bufferDetail: Record<string, number>;
  flashTotal: number;
  ramTotal: number;
  /** jsVars - flashTotal */
  headroomFlash: number;
  headroomRam: number;
}

/** JsVars of a typed array of `bytes` bytes. */
export function typedArrayVars(bytes: number, jsVarBytes: number): number {
  return Math.ceil(bytes / jsVarBytes) + 3;
}

function countProps(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  for (const k of Object.keys(v as Record<string, unknown>))
    n += 2 + countProps((v as Record<string, unknown>)[k]);
  return n;
}

export function estimateMemory(board: BoardProfile, minCode: string): MemoryEstimate {
  const ast = parse(minCode, { ecmaVersion: 'latest', sourceType: 'script' });
  let functions = 0;
  const fields: Record<string, true> = Object.create(null) as Record<string, true>;
  const fn = (): void => {
    functions++;
  };
  simple(ast, {
    FunctionDeclaration: fn,
    FunctionExpression: fn,
    ArrowFunctionExpression: fn,
    MemberExpression: (n: Node) => {
      const m = n as unknown as { object: { type: string }; property: { type: string; name?: string } };
      if (m.object.type === 'ThisExpression' && m.property.type === 'Identifier' && m.property.name) {
        fields[m.property.name] = true;
      }
    },
  });
  const b = board.jsVarBytes;
  const ta = (n: number): number => typedArrayVars(n, b);
  const detail: Record<string, number> = {
    micBuffers: 2 * ta(board.bufferSamples),
    sampleRing: ta(board.ringBytes),
    playbackFifo: ta(board.playbackBytes),
    speakerBuffers: board.speaker ? 2 * ta(board.playbackBufferSamples) : 0,
    volumeLut: ta(256),
    retransmitWindow: board.ringFrames * (ta(board.maxPayload) + 2),
  };
  let buffers = 0;
  for (const k of Object.keys(detail)) buffers += detail[k] as number;
  const state = 2 * Object.keys(fields).length + countProps(board);
  const codeFlash = 3 * functions;
  const codeRam = Math.ceil(minCode.length / 12) + 3 * functions;
  const flashTotal = codeFlash + state + buffers;
  const ramTotal = codeRam + state + buffers;
  return {
    jsVars: board.jsVars,
    functions: functions,
    codeRam: codeRam,
    codeFlash: codeFlash,
    state: state,
    buffers: buffers,
    bufferDetail: detail,
    flashTotal: flashTotal,
    ramTotal: ramTotal,
    headroomFlash: board.jsVars - flashTotal,
    headroomRam: board.jsVars - ramTotal,
  };
}
