/**
 * Where the firmware build (`npm run build -w firmware`, build.ts) writes its output, for the build
 * itself and for whoever loads a bundle: the simulator, `budlink doctor`, the benches.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The build's output folder: firmware/dist/. */
export const distDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

/** Default path of a board's built bundle: firmware/dist/<board>.min.js (the one to flash). */
export function bundlePathFor(board: string): string {
  return join(distDir, `${board}.min.js`);
}
