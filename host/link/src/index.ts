/** @budlink/link: the peripheral contract the links host, and the link's defaults (docs/adr/0005). */
export type { SimCharacteristic, SimService, SimCentral, SimPeripheral, TimedPeripheral } from './peripheral';
export { LINK_DEFAULTS, RECONNECT_DEFAULTS } from './defaults';
