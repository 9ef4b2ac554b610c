import { PROTOCOL_VERSION } from './codes.js';

/** The 8-byte version word a client sends first (§2). */
export function encodeHandshake(version: bigint = PROTOCOL_VERSION): Buffer {
  const word = Buffer.alloc(8);
  word.writeBigUInt64LE(version, 0);
  return word;
}
