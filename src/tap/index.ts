/**
 * The tap: a transparent proxy between any vfio-user client and server that passes every message
 * and fd on unchanged (the twin socket too) and reports each one decoded.
 */
export { relay, TAP_MAX_FRAME_SIZE, TwinSocketError, type RelayOptions, type RelaySink } from './relay.js';
export { relay$, tap$, type TapListening, type TapOptions, type TapTarget } from './tap.js';
export type { Side, TapClosed, TapConnected, TapEvent, TapMessage } from './events.js';
