import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  ProtocolError,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../src/wire/index.js';
import type { Frame, ResponseContext } from '../../../src/wire/index.js';
import { loadVectorFiles } from './load-vectors.js';
import { seededRandom, testSeed } from './seeded-random.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * Random bytes and mutations of the captured messages, thrown at the framing and at every
 * decoder with every context. A decoder may accept the input or throw ProtocolError; anything
 * else (a RangeError from a Buffer read, a TypeError, a hang) is a bug. Whatever is accepted
 * must also re-encode and decode to the same message, so no decoded value is unencodable.
 */

const ITERATIONS = 20_000;
const seed = testSeed(77_001);
/** Small enough that forged lengths are often over the cap, large enough for every vector. */
const MESSAGE_BYTES_MAX = 64 * 1024;

const corpus: Buffer[] = loadVectorFiles().flatMap((file) =>
  file.lines.flatMap((line) => (line.kind === 'message' && line.bytes ? [line.bytes] : [])),
);

const contexts: readonly ResponseContext[] = [
  {},
  { legacy: true },
  { clusterFormat: 0 },
  { clusterFormat: 1 },
];

/** Values that make length and count fields interesting: zero, one, word and type limits. */
const INTERESTING_WORDS = [
  0n,
  1n,
  7n,
  8n,
  255n,
  256n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
  0xeeeeeeeeeeeeeeeen,
];

function randomBytes(random: SeededRandom, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) bytes[index] = random.integer(256);
  return bytes;
}

/** The header's word count made to agree with the (mutated) body again, half of the time. */
function maybeFixHeader(message: Buffer, random: SeededRandom): Buffer {
  if (message.length < 8 || random.chance(0.5)) return message;
  message.writeUInt32LE(Math.floor((message.length - 8) / 8), 0);
  return message;
}

const mutations: readonly ((message: Buffer, random: SeededRandom) => Buffer)[] = [
  function flipBits(message, random) {
    const copy = Buffer.from(message);
    const flips = 1 + random.integer(4);
    for (let flip = 0; flip < flips; flip++) {
      const index = random.integer(copy.length);
      copy[index] = (copy[index] ?? 0) ^ (1 << random.integer(8));
    }
    return copy;
  },
  function truncate(message, random) {
    return maybeFixHeader(
      Buffer.from(message.subarray(0, random.integer(message.length + 1))),
      random,
    );
  },
  function duplicateWord(message, random) {
    const start = 8 * random.integer(Math.floor(message.length / 8));
    const word = message.subarray(start, start + 8);
    const copy = Buffer.concat([message.subarray(0, start), word, message.subarray(start)]);
    return maybeFixHeader(copy, random);
  },
  function removeWord(message, random) {
    const start = 8 + 8 * random.integer(Math.max(1, Math.floor((message.length - 8) / 8)));
    const copy = Buffer.concat([message.subarray(0, start), message.subarray(start + 8)]);
    return maybeFixHeader(copy, random);
  },
  function overwriteWord(message, random) {
    // Most counts and lengths are u64 words: replace one with an interesting value.
    const copy = Buffer.from(message);
    const words = Math.floor(copy.length / 8);
    if (words < 2) return copy;
    copy.writeBigUInt64LE(random.pick(INTERESTING_WORDS), 8 * (1 + random.integer(words - 1)));
    return copy;
  },
  function changeHeader(message, random) {
    const copy = Buffer.from(message);
    if (copy.length < 8) return copy;
    const choice = random.integer(3);
    if (choice === 0)
      copy.writeUInt32LE(random.pick([0, 1, 2, 0xffffffff, random.integer(4096)]), 0);
    if (choice === 1) copy.writeUInt8(random.integer(24), 4); // type: known codes and a few more
    if (choice === 2) copy.writeUInt8(random.pick([0, 1, 2, 255]), 5); // schema
    return copy;
  },
  function randomBody(message, random) {
    const words = random.integer(8);
    const header = Buffer.alloc(8);
    message.copy(header, 0, 0, 8); // keep the type and schema, if a header is left
    header.writeUInt32LE(words, 0);
    return Buffer.concat([header, randomBytes(random, words * 8)]);
  },
  function splice(message, random) {
    const other = random.pick(corpus);
    const cut = random.integer(message.length + 1);
    return Buffer.concat([
      message.subarray(0, cut),
      other.subarray(random.integer(other.length + 1)),
    ]);
  },
];

/** Input for one iteration: mostly mutated vectors, sometimes plain random bytes. */
function fuzzInput(random: SeededRandom): Buffer {
  if (random.chance(0.1)) return randomBytes(random, random.integer(80));
  let message = random.pick(corpus);
  const rounds = 1 + random.integer(3);
  for (let round = 0; round < rounds; round++) {
    // The mutations need a header and a body word to work on; shorter inputs stay as they are.
    if (message.length < 16) break;
    message = random.pick(mutations)(message, random);
  }
  return message;
}

/** Runs `action`; a ProtocolError counts as a rejection, anything else propagates. */
function acceptsOrRejects<T>(action: () => T): T | undefined {
  try {
    return action();
  } catch (error) {
    if (error instanceof ProtocolError) return undefined;
    throw error;
  }
}

/** Every decoder on one frame; what one accepts must survive a re-encode. */
function decodeEveryWay(frame: Frame): void {
  const request = acceptsOrRejects(() => decodeRequest(frame));
  if (request) expect(decodeRequest(singleFrameOf(encodeRequest(request)))).toEqual(request);
  for (const context of contexts) {
    const response = acceptsOrRejects(() => decodeResponse(frame, context));
    if (!response) continue;
    const again = decodeResponse(singleFrameOf(encodeResponse(response)), context);
    expect(again).toEqual(response);
  }
}

function singleFrameOf(message: Buffer): Frame {
  return { type: message.readUInt8(4), schema: message.readUInt8(5), body: message.subarray(8) };
}

function runIteration(random: SeededRandom): void {
  const input = fuzzInput(random);
  const frames: Frame[] = [];
  const decoder = new FrameDecoder({
    messageBytesMax: MESSAGE_BYTES_MAX,
    expectHandshake: random.chance(0.1),
  });
  const cut = random.integer(input.length + 1);
  acceptsOrRejects(() => {
    decoder.push(input.subarray(0, cut), { frame: (frame) => frames.push(frame) });
    decoder.push(input.subarray(cut), { frame: (frame) => frames.push(frame) });
  });
  for (const frame of frames) decodeEveryWay(frame);
}

describe('fuzzing the decoders', () => {
  it(`${ITERATIONS} mutated and random messages end in a decode or a ProtocolError`, () => {
    expect(corpus.length).toBeGreaterThan(100);
    const random = seededRandom(seed);
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      try {
        runIteration(random);
      } catch (error) {
        // The iteration number and seed replay the failure: WIRE_TEST_SEED=<seed>.
        throw new Error(`fuzz iteration ${iteration}, seed ${seed}: ${String(error)}`, {
          cause: error,
        });
      }
    }
  }, 20_000);
});
