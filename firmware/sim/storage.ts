/**
 * `require('Storage')`: files in the device's flash, kept across power cycles by the owner (index.ts).
 */
import vm from 'node:vm';
import type { Builtins } from './language';
import { tagOf, toBytes } from './natives';

/** What each file costs beyond its bytes (Espruino's file header: length + 28-character name). */
const FILE_HEADER_BYTES = 32;

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
    for (const v of files.values()) n += v.length + FILE_HEADER_BYTES;
    return n;
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
      if (used() - (files.get(n)?.length ?? 0) + bytes.length > capacity)
        throw err('Not enough free space in Storage');
      files.set(n, bytes);
      return true;
    }
    const o = Number(offset);
    let f = files.get(n);
    if (size !== undefined) {
      const sz = Number(size);
      if (used() + sz > capacity) throw err('Not enough free space in Storage');
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
