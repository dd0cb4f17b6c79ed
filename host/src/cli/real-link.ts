import { NodeBleLink } from '@budlink/link';
import type { BudlinkConfig } from '../config/index';
import { UsageError } from './io';

/** The link to real earbuds (scan, bridge): node-ble on the system bus. */
export function realLink(config: BudlinkConfig, env: Record<string, string | undefined>): NodeBleLink {
  if (config.link === 'in-process') {
    throw new UsageError(
      "link 'in-process' has no real earbuds: use `budlink simulate` (or set link to auto / node-ble)",
    );
  }
  return new NodeBleLink({
    connectTimeoutMs: config.connectTimeoutMs,
    busAddress: env.DBUS_SYSTEM_BUS_ADDRESS,
  });
}
