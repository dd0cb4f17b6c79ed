/**
 * Simulated earbuds behind a Link, for `budlink simulate`, `budlink demo` (npm start), the e2e tests
 * and the benches: either the real node-ble path (private dbus-daemon + BlueZ emulator + NodeBleLink)
 * or the in-process link. Everything started here is stopped by close(), in the order that ends
 * cleanly (BLUEZ-EMULATION.md): connections → link → emulator → bus → earbuds.
 */
import { SimulatedEarbud, type EarbudOptions } from '@budlink/firmware/sim';
import { InProcessLink } from '../ble/in-process-link';
import type { Link } from '../ble/link';
import { NodeBleLink } from '../ble/node-ble-link';
import { findDbusDaemon, startPrivateBus, type PrivateBus } from '../bluez/bus';
import { startBluezEmulator, type BluezEmulator } from '../bluez/emulator';
import { within } from '../ble/within';
import { LINK_DEFAULTS, SIM_DEFAULTS } from '../defaults';

export type SimTransport = 'auto' | 'bluez' | 'in-process';

export interface SimEnvOptions {
  earbuds: EarbudOptions[];
  /** 'auto': BlueZ emulator when dbus-daemon is installed, else in-process. */
  transport?: SimTransport;
  /** ATT MTU the central asks for (default 247); each earbud's `maxMtu` (its board's link limit) caps it. */
  mtu?: number;
  /** NodeBleLink connect timeout (ms; default LINK_DEFAULTS, 10 s). */
  connectTimeoutMs?: number;
  /** Progress of the start-up steps (for status lines). */
  onStep?: (step: string) => void;
  /** Deadline for each start-up step (default 15000 ms). */
  stepTimeoutMs?: number;
}

export interface SimEnv {
  readonly link: Link;
  readonly earbuds: SimulatedEarbud[];
  readonly transport: 'bluez' | 'in-process';
  readonly emulator?: BluezEmulator;
  readonly bus?: PrivateBus;
  close(): Promise<void>;
}

export function dbusAvailable(): boolean {
  return findDbusDaemon() !== undefined;
}

export async function startSimEnv(options: SimEnvOptions): Promise<SimEnv> {
  const step = options.onStep ?? (() => undefined);
  const stepMs = options.stepTimeoutMs ?? SIM_DEFAULTS.stepTimeoutMs;
  const earbuds: SimulatedEarbud[] = [];
  const stopEarbuds = (): void => {
    for (const e of earbuds) e.stop();
  };
  try {
    for (const o of options.earbuds) earbuds.push(SimulatedEarbud.create(o));
    step(`${earbuds.length} earbud(s) booted`);
  } catch (e) {
    stopEarbuds();
    throw e;
  }
  const want = options.transport ?? 'auto';
  const useBluez = want === 'bluez' || (want === 'auto' && dbusAvailable());
  const wantMtu = options.mtu ?? LINK_DEFAULTS.mtu;
  // What the MTU exchange yields: the central's request capped by the earbud's radio (negotiateMtu
  // applies the same cap at connect; asking for no more than the board carries keeps them equal).
  const mtuOf = (e: SimulatedEarbud): number => Math.min(wantMtu, e.maxMtu);
  const inProcess = (): SimEnv => {
    const link = new InProcessLink();
    for (const e of earbuds) link.addPeripheral(e, { mtu: mtuOf(e) });
    return {
      link,
      earbuds,
      transport: 'in-process',
      close: async () => {
        await link.close().catch(() => undefined);
        stopEarbuds();
      },
    };
  };
  if (!useBluez) return inProcess();
  let bus: PrivateBus | undefined;
  let emulator: BluezEmulator | undefined;
  try {
    bus = await startPrivateBus();
    step(`private dbus-daemon up (pid ${bus.pid})`);
    const starting = startBluezEmulator({ busAddress: bus.address });
    emulator = await within(starting, stepMs, 'starting the BlueZ emulator').catch(async (e: unknown) => {
      void starting.then((emu) => emu.stop()).catch(() => undefined);
      throw e;
    });
    step('BlueZ emulator owns org.bluez');
    for (const e of earbuds) emulator.addPeripheral(e, { mtu: mtuOf(e) });
  } catch (e) {
    await emulator?.stop().catch(() => undefined);
    await bus?.stop().catch(() => undefined);
    if (want === 'auto') {
      // dbus-daemon is there but will not run here (e.g. a locked-down container): still work.
      step(
        `BlueZ emulator unavailable (${e instanceof Error ? e.message : String(e)}); using the in-process link`,
      );
      return inProcess();
    }
    stopEarbuds();
    throw e;
  }
  const link = new NodeBleLink({
    busAddress: bus.address,
    connectTimeoutMs: options.connectTimeoutMs ?? LINK_DEFAULTS.connectTimeoutMs,
  });
  const b = bus;
  const emu = emulator;
  let closed = false;
  return {
    link,
    earbuds,
    transport: 'bluez',
    emulator: emu,
    bus: b,
    close: async () => {
      if (closed) return;
      closed = true;
      await link.close().catch(() => undefined);
      await emu.stop().catch(() => undefined);
      await b.stop().catch(() => undefined);
      stopEarbuds();
    },
  };
}
