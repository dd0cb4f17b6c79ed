/**
 * @budlink/link: the link between the bridge and the earbuds (docs/adr/0005, host/link/README.md).
 * The peripheral contract the links host, `Link` and its two implementations, the reconnect policy, the
 * link's defaults and its small helpers. The BlueZ emulator is `@budlink/link/bluez`.
 */
export type { SimCharacteristic, SimService, SimCentral, SimPeripheral, TimedPeripheral } from './peripheral';
export * from './link';
export { InProcessLink, type InProcessLinkOptions, type InProcessPeripheralOptions } from './in-process-link';
export { NodeBleLink, type NodeBleLinkOptions } from './node-ble-link';
export { persistentConnection, reconnecting, backoffDelay, LinkLost, type BackoffPolicy } from './reconnect';
export { LINK_DEFAULTS, RECONNECT_DEFAULTS } from './defaults';
export { negotiateMtu, MIN_ATT_MTU, MAX_ATT_MTU } from './mtu';
export { LineSplitter } from './lines';
export { within, TimeoutError } from './within';
