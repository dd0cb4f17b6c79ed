/**
 * Simulated earbuds behind a Link, for `budlink simulate`, `budlink demo` (npm start), the e2e tests
 * and the benches: either the real node-ble path (private dbus-daemon + BlueZ emulator + NodeBleLink)
 * or the in-process link. The earbuds run on either engine: the caller starts them (`createEarbud` of
 * @budlink/sim: the host reaches the simulator only from `demo` and `simulate`, docs/adr/0005).
 * Everything started here is stopped by close(), in the order that ends cleanly (host/link/README.md):
 * connections → link → emulator → bus → earbuds.
 */
import { InProcessLink, NodeBleLink, within, type Link, type SimPeripheral } from '@budlink/link';
import {
  findDbusDaemon,
  startBluezEmulator,
  startPrivateBus,
  type BluezEmulator,
  type PrivateBus,
} from '@budlink/link/bluez';
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
  stop(): void | Promise<void>;
}

/** How the earbuds are put behind a link. */
export interface SimLinkOptions {
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

export interface SimEnvOptions<O, E extends SimEarbud> extends SimLinkOptions {
  /** One entry per earbud, handed to `create`. */
  earbuds: O[];
  /** Starts one earbud and resolves once it has booted (`createEarbud` of @budlink/sim). */
  create: (options: O) => E | Promise<E>;
  /** What the earbuds run on, for the start-up step ('1 earbud(s) booted on <bootedOn>'). */
  bootedOn?: string;
}

export interface SimEnv<E extends SimEarbud = SimEarbud> {
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

/** Start the earbuds one after the other (`create`), then put them behind the link. */
export async function startSimEnv<O, E extends SimEarbud>(options: SimEnvOptions<O, E>): Promise<SimEnv<E>> {
  const earbuds: E[] = [];
  const stopEarbuds = async (): Promise<void> => {
    await Promise.all(earbuds.map((e) => e.stop()));
  };
  try {
    for (const o of options.earbuds) earbuds.push(await options.create(o));
    options.onStep?.(
      `${earbuds.length} earbud(s) booted${options.bootedOn ? ` on ${options.bootedOn}` : ''}`,
    );
  } catch (e) {
    await stopEarbuds();
    throw e;
  }
  return attachLink(earbuds, stopEarbuds, options);
}

async function attachLink<E extends SimEarbud>(
  earbuds: E[],
  stopEarbuds: () => Promise<void>,
  options: SimLinkOptions,
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
