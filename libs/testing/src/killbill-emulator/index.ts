/**
 * Kill Bill 0.24 emulator: a test double of the Kill Bill HTTP API for the billing service's tests.
 * The product never depends on it.
 */
export {
  KillBillEmulator,
  type KillBillEmulatorOptions,
  type KillBillEmulatorStats,
  type RecordedRequest,
} from './killbill-emulator';
export { type EmittedEvent, CONTROL_TAGS } from './engine';
export {
  type KillBillPushPayload,
  type PushAttempt,
  type PushDelivery,
  type PushDeliveryStatus,
  type PushStats,
} from './push-dispatcher';
export { CLEAR_STATE_NAME } from './catalog';
