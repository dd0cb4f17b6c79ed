/**
 * `require('Storage')`: files in the device's flash, kept across power cycles by the owner (earbud.ts).
 */
import vm from 'node:vm';
import type { Builtins } from './language';
import { tagOf, toBytes } from './natives';

/**
 * Storage of every Budlink board: 10 pages of 4 KB (the `saved_code` area of the PUCKJS, MDBT42Q,
 * THINGY52, MICROBIT2 and NRF52840DK board files; the real interpreter's getFree() says 40960 on each).
 */
export const STORAGE_BYTES = 10 * 4096;

/**
 * Flash a file of `len` bytes takes: Espruino's file header (length + 28-character name) and the data
 * rounded up to a 4-byte word (on the real interpreter 'hello' leaves getFree() at 40960 - 40).
 */
function fileBytes(len: number): number {
  return 32 + Math.ceil(len / 4) * 4;
}

export interface StorageRealm {
  ctx: vm.Context;
  builtins: Builtins;
  err: (msg: string) => Error;
}

/** The Storage module over `files` (name -> bytes) with room for `capacity` bytes. */
export function storageModule(
  files: Map<string, Uint8Array>,
  capacity: number,
  realm: StorageRealm,
): Record<string, unknown> {
  const { builtins, err } = realm;
  const checkName = (name: unknown): string => {
    if (typeof name !== 'string' || name.length === 0) throw err('Invalid filename');
    if (name.length > 28) throw err(`File name too long (${name.length} > 28)`);
    return name;
  };
  const used = (): number => {
    let n = 0;
    for (const v of files.values()) n += fileBytes(v.length);
    return n;
  };
  /** Room for a file `name` of `len` bytes (replacing the file of that name, if any). */
  const checkRoom = (name: string, len: number): void => {
    const old = files.get(name);
    if (used() - (old ? fileBytes(old.length) : 0) + fileBytes(len) > capacity)
      throw err('Unable to find or create file');
  };
  const str = (u: Uint8Array): string => {
    let s = '';
    for (let i = 0; i < u.length; i += 4096) s += String.fromCharCode(...u.subarray(i, i + 4096));
    return s;
  };
  const write = (name: unknown, data: unknown, offset?: unknown, size?: unknown): boolean => {
    const n = checkName(name);
    const bytes = toBytes(data, 'Storage.write');
    if (offset === undefined || offset === null) {
      checkRoom(n, bytes.length);
      files.set(n, bytes);
      return true;
    }
    const o = Number(offset);
    let f = files.get(n);
    if (size !== undefined) {
      const sz = Number(size);
      checkRoom(n, sz);
      f = new Uint8Array(sz).fill(0xff);
      files.set(n, f);
    }
    if (!f) throw err(`Storage.write: file ${n} does not exist: give a size with the first chunk`);
    if (o + bytes.length > f.length) throw err('Too much data for file size');
    f.set(bytes, o);
    return true;
  };
  return {
    read: (name: unknown, offset?: unknown, length?: unknown) => {
      const f = files.get(checkName(name));
      if (!f) return undefined;
      const o = offset === undefined ? 0 : Number(offset);
      const l = length === undefined ? f.length - o : Number(length);
      return str(f.subarray(o, o + l));
    },
    readArrayBuffer: (name: unknown) => {
      const f = files.get(checkName(name));
      if (!f) return undefined;
      const ab = new builtins.ArrayBuffer(f.length);
      new builtins.Uint8Array(ab).set(f);
      return ab;
    },
    readJSON: (name: unknown, noExceptions?: unknown) => {
      const f = files.get(checkName(name));
      if (!f) return undefined;
      try {
        return builtins.JSON.parse(str(f));
      } catch (e) {
        if (noExceptions) return undefined;
        throw err(`JSON parse error in ${String(name)}: ${(e as Error).message}`);
      }
    },
    write,
    writeJSON: (name: unknown, data: unknown) => {
      const n = checkName(name);
      files.set(n, toBytes(builtins.JSON.stringify(data) ?? 'undefined', 'Storage.writeJSON'));
      return true;
    },
    erase: (name: unknown) => {
      files.delete(checkName(name));
    },
    eraseAll: () => files.clear(),
    list: (re?: unknown) => {
      const names = [...files.keys()].filter((k) =>
        re && tagOf(re) === 'RegExp' ? (re as RegExp).test(k) : true,
      );
      return vm.runInContext(`(${JSON.stringify(names)})`, realm.ctx);
    },
    getFree: () => capacity - used(),
    compact: () => {},
  };
}
