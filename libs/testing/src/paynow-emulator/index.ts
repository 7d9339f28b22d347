/** PayNow emulator: a test double of PayNow's merchant interface. The product never depends on it. */
export {
  PaynowEmulator,
  PAYNOW_TEST_PHONES,
  type PaynowEmulatorOptions,
  type PaynowTransaction,
  type PaynowTxStatus,
} from './paynow-emulator';
export { type ResultPost, type ResultPostOptions } from './result-poster';
export {
  hashOf as paynowHashOf,
  parseForm as parsePaynowForm,
  signed as signedPaynowForm,
} from './paynow-wire';
