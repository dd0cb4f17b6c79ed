/**
 * BLE link benchmarks, through the real node-ble code path over a private D-Bus and the BlueZ
 * emulator (no radio: these figures measure the host stack, not BLE air time).
 *
 * host.reconnect_ms_p50: link loss (the earbud drops the connection) → persistentConnection has a new
 * Connection with notifications subscribed again. Backoff initial delay 0 and no jitter, so the figure
 * is the stack's own cost (detecting the loss, Connect, GATT resolution, StartNotify); the product's
 * default policy adds its initial delay (100 ms) on top.
 *
 * host.ble_echo_ms_p50: write-without-response → the echoed notification, on a live connection.
 */
import type { Bench } from './run';
import { percentile } from './support/stats';
import { NodeBleLink, persistentConnection, type Connection } from '@budlink/link';
import { startPrivateBus, startBluezEmulator, EchoPeripheral } from '@budlink/link/bluez';

const TRIALS = 30;
const ECHOES = 200;

const bench: Bench = {
  name: 'ble',
  async run() {
    const bus = await startPrivateBus();
    const earbud = new EchoPeripheral({ name: 'Budlink-bench', address: 'C0:FF:EE:00:BE:01' });
    const emu = await startBluezEmulator({ busAddress: bus.address, peripherals: [earbud] });
    const link = new NodeBleLink({ busAddress: bus.address });
    const samples: number[] = [];
    const echoes: number[] = [];
    try {
      let lostAt = 0;
      let resolveNext: ((c: Connection) => void) | undefined;
      let failNext: ((e: unknown) => void) | undefined;
      const next = (): Promise<Connection> =>
        new Promise<Connection>((resolve, reject) => {
          resolveNext = resolve;
          failNext = reject;
        });
      let pending = next();
      const sub = persistentConnection(link, earbud.address, { initialDelayMs: 0, jitter: 0 }).subscribe({
        next: (c) => resolveNext?.(c),
        error: (e: unknown) => failNext?.(e),
      });
      let conn = await pending;
      for (let i = 0; i < TRIALS + 3; i++) {
        pending = next();
        // Prove the link carries data before dropping it.
        const echo = new Promise<void>((resolve) => {
          const s = conn.frames$.subscribe(() => {
            s.unsubscribe();
            resolve();
          });
        });
        await conn.write(Uint8Array.of(i & 0xff));
        await echo;
        lostAt = performance.now();
        earbud.kick();
        conn = await pending;
        // The first few warm up the JIT and D-Bus proxies.
        if (i >= 3) samples.push(performance.now() - lostAt);
      }
      // Write → notification round trip on the live connection (host stack + D-Bus, no air time).
      for (let i = 0; i < ECHOES + 20; i++) {
        const t0 = performance.now();
        const echo = new Promise<void>((resolve) => {
          const s = conn.frames$.subscribe(() => {
            s.unsubscribe();
            resolve();
          });
        });
        await conn.write(Uint8Array.of(i & 0xff, 1, 2, 3));
        await echo;
        if (i >= 20) echoes.push(performance.now() - t0);
      }
      sub.unsubscribe();
    } finally {
      await link.close();
      await emu.stop();
      await bus.stop();
    }
    samples.sort((a, b) => a - b);
    echoes.sort((a, b) => a - b);
    return {
      'host.ble_echo_ms_p50': Number(percentile(echoes, 50).toFixed(3)),
      'host.reconnect_ms_p50': Number(percentile(samples, 50).toFixed(2)),
      'host.reconnect_ms_p95': Number(percentile(samples, 95).toFixed(2)),
    };
  },
};

export default bench;
