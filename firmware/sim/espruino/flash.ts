/**
 * Deploying the firmware as on a device: the minified bundle written to Storage as `.bootcde` through
 * the interpreter's own console, in ~1 KB `require("Storage").write(name, chunk, offset, size)` calls
 * (what EspruinoTools sends for a Storage upload), then checked by a CRC the interpreter computes.
 * The resulting flash file is cached per board and bundle, so each earbud starts from a copy of it:
 * power-on then runs `.bootcde` from flash, as a flashed device does.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Interpreter } from './interpreter';

const CHUNK = 1024;
export const FLASH_FILE = 'espruino.flash';

export class FlashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlashError';
  }
}

/**
 * `s` (bytes) as a JavaScript string literal of printable ASCII that the console passes unchanged: control
 * characters as JSON escapes, bytes 127..255 (a pretokenised bundle's tokens and raw data,
 * firmware/scripts/pretokenise.ts) as \xHH, which Espruino's lexer turns back into the same byte.
 */
function literal(s: string): string {
  return JSON.stringify(s).replace(/[\x7f-\xff]/g, (c) => '\\x' + c.charCodeAt(0).toString(16));
}

/** The upload stream for `code` (a binary string: one byte per character) as `.bootcde`: lines to type at the console (echo off). */
export function storageUploadLines(code: string, file = '.bootcde'): string[] {
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c > 255)
      throw new FlashError(
        `the bundle has a character (${c}) at ${i} that is not a byte: it cannot be stored`,
      );
  }
  const lines: string[] = [];
  for (let o = 0; o < code.length; o += CHUNK)
    lines.push(
      `\x10require("Storage").write(${JSON.stringify(file)},${literal(code.slice(o, o + CHUNK))},${o},${code.length});\n`,
    );
  return lines;
}

/**
 * A flash image holding `code` as `.bootcde`, made by `binary` (cached in `cacheDir`). Resolves to
 * the image's path; rejects with FlashError when the device's CRC does not match.
 */
export async function flashImage(
  binary: string,
  binaryKey: string,
  code: string,
  cacheDir: string,
): Promise<string> {
  const key = createHash('sha256').update(binaryKey).update(code).digest('hex').slice(0, 20);
  const out = join(cacheDir, `${key}.flash`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'budlink-flash-'));
  try {
    const want = crc32(Buffer.from(code, 'latin1')) >>> 0;
    const seen: string[] = [];
    let verifyError = 'the interpreter exited before the upload was verified';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        it.kill();
        reject(
          new FlashError(
            `no answer from the interpreter while flashing; console: ${seen.slice(-5).join(' | ')}`,
          ),
        );
      }, 60000);
      const it = new Interpreter({
        binary,
        dir,
        onEvent: (e) => {
          if (e.kind !== 'J') return;
          for (const l of storageUploadLines(code)) it.type(l);
          it.type('\x10print("BUDLINK-STORED",E.CRC32(require("Storage").read(".bootcde")))\n');
        },
        onConsole: (line) => {
          seen.push(line);
          const m = /^BUDLINK-STORED (\S+)/.exec(line);
          if (!m) return;
          clearTimeout(timer);
          const got = Number(m[1]) >>> 0;
          verifyError = got === want ? '' : `verify failed: the device stored CRC ${got}, expected ${want}`;
          it.command('Q');
        },
        onExit: () => {
          clearTimeout(timer);
          if (verifyError) reject(new FlashError(`${verifyError}; console: ${seen.slice(-5).join(' | ')}`));
          else resolve();
        },
      });
    });
    copyFileSync(join(dir, FLASH_FILE), `${out}.tmp`);
    copyFileSync(`${out}.tmp`, out);
    rmSync(`${out}.tmp`);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
