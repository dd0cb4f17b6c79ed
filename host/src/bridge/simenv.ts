/**
 * Simulated earbuds behind a Link, for `budlink simulate`, `budlink demo` (npm start), the e2e tests
 * and the benches: either the real node-ble path (private dbus-daemon + BlueZ emulator + NodeBleLink)
 * or the in-process link. The earbuds run on either engine: the vm simulator (startSimEnv) or the real
 * Espruino interpreter (startEspruinoSimEnv). Everything started here is stopped by close(), in the
 * order that ends cleanly (host/link/README.md): connections → link → emulator → bus → earbuds.
 */
import { InProcessLink, NodeBleLink, within, type Link, type SimPeripheral } from '@budlink/link';
import {
  findDbusDaemon,
  startBluezEmulator,
  startPrivateBus,
  type BluezEmulator,
  type PrivateBus,
} from '@budlink/link/bluez';
import { SimulatedEarbud, type EarbudOptions } from '@budlink/sim';
import { EspruinoEarbud, type EspruinoEarbudOptions } from '@budlink/sim/espruino';
import { LINK_DEFAULTS, SIM_DEFAULTS } from '../defaults';

export type SimTransport = 'auto' | 'bluez' | 'in-process';

/** What the sim environment and the CLI's scenarios need of an earbud, on either engine. */
export interface SimEarbud extends SimPeripheral {
  /** The largest ATT MTU the board's radio carries. */
  readonly maxMtu: number;
  feedWav(path: string): number;
  feedSilence(ms: number): void;
  pressButton(ms: number): void;
  powerCycle(): void | Promise<void>;
}

export interface SimEnvOptions<O = EarbudOptions> {
  earbuds: O[];
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

export interface SimEnv<E extends SimEarbud = SimulatedEarbud> {
  readonly link: Link;
  readonly earbuds: E[];
  readonly transport: 'bluez' | 'in-process';
  readonly emulator?: BluezEmulator;
  readonly bus?: PrivateBus;
  close(): Promise<void>;
}

export function dbusAvailable(): boolean {
  return findDbusDaemon() !== undefined;
}

/** Earbuds on the vm simulator. */
export async function startSimEnv(options: SimEnvOptions): Promise<SimEnv> {
  const earbuds: SimulatedEarbud[] = [];
  const stopEarbuds = async (): Promise<void> => {
    for (const e of earbuds) e.stop();
  };
  try {
    for (const o of options.earbuds) earbuds.push(SimulatedEarbud.create(o));
    options.onStep?.(`${earbuds.length} earbud(s) booted`);
  } catch (e) {
    await stopEarbuds();
    throw e;
  }
  return attachLink(earbuds, stopEarbuds, options);
}

/**
 * Earbuds on the real Espruino interpreter (built for this machine on first use: a C toolchain is
 * needed, scripts/install-system-deps.sh). They run on the wall clock.
 */
export async function startEspruinoSimEnv(
  options: SimEnvOptions<EspruinoEarbudOptions>,
): Promise<SimEnv<EspruinoEarbud>> {
  const earbuds: EspruinoEarbud[] = [];
  const stopEarbuds = async (): Promise<void> => {
    await Promise.all(earbuds.map((e) => e.stop()));
  };
  try {
    for (const o of options.earbuds) earbuds.push(await EspruinoEarbud.start(o));
    options.onStep?.(`${earbuds.length} earbud(s) booted on the Espruino interpreter`);
  } catch (e) {
    await stopEarbuds();
    throw e;
  }
  return attachLink(earbuds, stopEarbuds, options);
}

async function attachLink<E extends SimEarbud>(
  earbuds: E[],
  stopEarbuds: () => Promise<void>,
  options: SimEnvOptions<unknown>,
): Promise<SimEnv<E>> {
  const step = options.onStep ?? (() => undefined);
  const stepMs = options.stepTimeoutMs ?? SIM_DEFAULTS.stepTimeoutMs;
  const want = options.transport ?? 'auto';
  const useBluez = want === 'bluez' || (want === 'auto' && dbusAvailable());
  const wantMtu = options.mtu ?? LINK_DEFAULTS.mtu;
  // What the MTU exchange yields: the central's request capped by the earbud's radio (negotiateMtu
  // applies the same cap at connect; asking for no more than the board carries keeps them equal).
  const mtuOf = (e: E): number => Math.min(wantMtu, e.maxMtu);
  const inProcess = (): SimEnv<E> => {
    const link = new InProcessLink();
    for (const e of earbuds) link.addPeripheral(e, { mtu: mtuOf(e) });
    return {
      link,
      earbuds,
      transport: 'in-process',
      close: async () => {
        await link.close().catch(() => undefined);
        await stopEarbuds();
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
    await stopEarbuds();
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
      await stopEarbuds();
    },
  };
}
