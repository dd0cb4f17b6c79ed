/** @budlink/link: the peripheral contract the links host (docs/adr/0005). */
export type { SimCharacteristic, SimService, SimCentral, SimPeripheral, TimedPeripheral } from './peripheral';
