/**
 * Dqlite wire protocol version 1: framing, every request and response, parameter and row
 * tuples. Pure functions over Buffer, shared by the client and the server.
 *
 * The folder also holds the one socket that speaks the protocol (wire-connection.ts, dial.ts,
 * connection-error.ts), which the client and the node import by path; it is not exported here.
 */
export * from './codes.js';
export { ResultCode, SqliteExtendedCode, SqlitePrimaryCode } from './result-codes.js';
export type { ResultCodeName } from './result-codes.js';
export { ProtocolError } from './protocol-error.js';
export type { ProtocolErrorReason } from './protocol-error.js';
export { FrameDecoder, MESSAGE_BYTES_MAX_DEFAULT, encodeFrame } from './frame.js';
export type { Frame, FrameDecoderOptions, FrameSink } from './frame.js';
export { encodeRequest, decodeRequest } from './requests.js';
export type { Request, RequestOf } from './requests.js';
export { encodeResponse, decodeResponse } from './responses.js';
export type {
  DumpedFile,
  FailureResponse,
  FilesResponse,
  Response,
  ResponseContext,
  ResponseOf,
  RowBatch,
  RowsResponse,
  ServerInfo,
  ServersResponse,
} from './responses.js';
export { PARAMETERS_MAX_SCHEMA_0, PARAMETERS_MAX_SCHEMA_1 } from './tuple.js';
export type { TupleSchema } from './tuple.js';
export type { WireValue } from './values.js';
export { encodeHandshake } from './handshake.js';
export type { TlsOptions } from './tls-options.js';
export { columnValueType } from './column-type.js';
