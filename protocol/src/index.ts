/** @budlink/protocol: the Budlink wire protocol (docs/PROTOCOL.md), for the firmware and the host. */
export * from './frames';
export * from './seq';
export * from './codec';
export * from './window';
export * from './reassembler';
