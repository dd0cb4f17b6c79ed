/**
 * Firmware entry: `boot(profile)` starts the earbud on Espruino. The build bundles this file with a
 * call `boot(<board profile literal>)` per board (firmware/scripts/build.ts).
 */
import type { BoardProfile } from '../boards/index';
import { App } from './core/app';
import { EspruinoHal } from './hal/espruino/index';

export function boot(board: BoardProfile): App {
  const app = new App(board, new EspruinoHal(board));
  app.boot();
  return app;
}
