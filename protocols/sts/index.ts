/**
 * Rasid's STS (IEC 62055-41) token codec: a pure library, no I/O.
 *
 * Vending side: `deriveDecoderKey` (DKGA02), `encodeToken` / `encodeKeyChange` / `sealRegisterToken`.
 * Meter side: `decodeToken`, and `StsMeter`, the acceptance model. See docs/sts.md.
 */
export { type AmountRounding, decodeAmount, encodeAmount, MAX_AMOUNT } from './amount.ts';
export {
  CREDIT_TYPE_BY_UTILITY,
  type CreditTokenType,
  type RegisterTokenType,
  TOKEN_TYPES,
  type TokenLayout,
  type TokenTypeDefinition,
  type TokenTypeName,
  tokenTypeOf,
  type ValueEncoding,
} from './classes.ts';
export { crc16Modbus, tokenCrcField } from './crc.ts';
export { Des, desDecrypt, desEncrypt, nodeDesDecrypt, nodeDesEncrypt } from './des.ts';
export {
  controlBlockWords,
  deriveDecoderKey,
  type KeyParameters,
  type KeyType,
  panBlockWords,
  validateKeyParameters,
} from './dkga02.ts';
export { EA07_P, EA07_S1, EA07_S2, ea07Decrypt, ea07Encrypt } from './ea07.ts';
export { STS_REJECTION, StsError, type StsRejection, type StsRejectionCode } from './errors.ts';
export { type DecoderKey, StsKey, type VendingKey } from './key.ts';
export {
  type AcceptResult,
  DEFAULT_REGISTER_LIMIT,
  DEFAULT_TID_MEMORY,
  type KenRule,
  type MeterConfig,
  type MeterEffect,
  type MeterOptions,
  type MeterSnapshot,
  type OldRule,
  StsMeter,
} from './meter.ts';
export { type IinLength, luhnCheckDigit, type MeterPan, meterPanFromParts, parseMeterPan } from './pan.ts';
export { BASE_DATES, type BaseDate, dateFromTid, isBaseDate, TID_MAX, tidFromDate } from './tid.ts';
export {
  type DecodedKeyChange1,
  type DecodedKeyChange2,
  type DecodedRegisterToken,
  type DecodedTestToken,
  type DecodedToken,
  type DecodeOptions,
  type DecodeResult,
  decodeToken,
  type EncodedToken,
  type EncodeOptions,
  type EncryptionAlgorithm,
  encodeKeyChange,
  encodeToken,
  formatStsToken,
  type KeyChange1Request,
  type KeyChange2Request,
  type KeyChangeRequest,
  keyFromSections,
  parseStsToken,
  type RegisterTokenRequest,
  registerField,
  registerValue,
  type StsToken,
  sealRegisterToken,
  type TestTokenRequest,
  type TokenRequest,
  tokenToBigInt,
} from './token.ts';
