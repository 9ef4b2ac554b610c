import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RaftInitialState } from '../../../src/raft/raft-storage.js';
import type { Entry, HardState, SnapshotMetadata } from '../../../src/raft/types.js';
import type { FileStorage } from '../../../src/storage/index.js';
import {
  describeEntries,
  installSnapshot,
  openStorage,
  persist,
  readChunk,
  reopen,
  snapshotData,
  snapshotMetadata,
  temporaryDirectory,
  writeChunk,
} from './storage-fixture.js';

/**
 * Property: any sequence of persists (appends and conflicting suffixes), snapshot installs (with
 * and without keepLogAfter, any trailing count, staging restarted midway) and restarts loads
 * exactly what a naive in-memory model of the log says, with any segment and record size.
 */

const seed = Number(process.env['STORAGE_TEST_SEED'] ?? 4_242);
/** Sized so that the file runs in a few seconds: every command fsyncs. */
const numRuns = 100;

type Command =
  | {
      readonly kind: 'append';
      readonly back: number;
      readonly dataBytes: number[];
      readonly termStep: number;
      readonly vote: number | undefined;
    }
  | {
      readonly kind: 'snapshot';
      readonly keep: boolean;
      readonly position: number;
      readonly trailing: number;
      readonly bytes: number;
      readonly chunkBytes: number;
      readonly restart: boolean;
    }
  | { readonly kind: 'reopen' };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      back: fc.oneof(fc.constant(0), fc.nat(8)),
      dataBytes: fc.array(fc.nat(40), { minLength: 1, maxLength: 6 }),
      termStep: fc.oneof(fc.constant(0), fc.nat(2)),
      vote: fc.option(fc.nat(5), { nil: undefined }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('snapshot' as const),
      keep: fc.boolean(),
      position: fc.nat(1000),
      trailing: fc.nat(8),
      bytes: fc.nat(300),
      chunkBytes: fc.integer({ min: 1, max: 128 }),
      restart: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

/** The reference: the whole log in an array, the snapshot with its data, term and vote. */
interface Model {
  entries: Entry[];
  snapshot: { readonly metadata: SnapshotMetadata; readonly data: Buffer } | undefined;
  hardState: HardState;
  termMax: number;
  dataSeed: number;
}

function snapshotIndexOf(model: Model): number {
  return model.snapshot?.metadata.index ?? 0;
}

function termAt(model: Model, index: number): number {
  const found = model.entries.find((entry) => entry.index === index);
  if (found !== undefined) return found.term;
  return index === snapshotIndexOf(model) ? (model.snapshot?.metadata.term ?? 0) : 0;
}

async function runAppend(
  storage: FileStorage,
  model: Model,
  step: Extract<Command, { kind: 'append' }>,
): Promise<void> {
  const snapshotIndex = snapshotIndexOf(model);
  const first = model.entries[0];
  const last = model.entries.at(-1);
  const start =
    first === undefined || last === undefined
      ? snapshotIndex + 1
      : Math.max(snapshotIndex + 1, first.index, last.index + 1 - step.back);
  model.termMax = Math.max(model.termMax + step.termStep, 1);
  const written = step.dataBytes.map((bytes, offset) => ({
    index: start + offset,
    term: model.termMax,
    type: 1 as const,
    data: snapshotData(bytes, ++model.dataSeed),
  }));
  const hardState = step.vote === undefined ? undefined : { term: model.termMax, vote: step.vote };
  await persist(
    storage,
    hardState === undefined ? { entries: written } : { hardState, entries: written },
  );
  model.entries = [...model.entries.filter((entry) => entry.index < start), ...written];
  if (hardState !== undefined) model.hardState = hardState;
}

async function runSnapshot(
  storage: FileStorage,
  model: Model,
  step: Extract<Command, { kind: 'snapshot' }>,
): Promise<void> {
  const snapshotIndex = snapshotIndexOf(model);
  const first = model.entries[0];
  const last = model.entries.at(-1);
  let index: number;
  let term: number;
  if (step.keep && first !== undefined && last !== undefined) {
    const lowest = Math.max(snapshotIndex, first.index);
    index = lowest + (step.position % (last.index - lowest + 1));
    term = termAt(model, index);
  } else {
    const lowest = Math.max(snapshotIndex, 1);
    index = lowest + (step.position % ((last?.index ?? lowest) - lowest + 4));
    term = model.termMax = Math.max(model.termMax, 1);
  }
  const metadata = snapshotMetadata(index, term, step.bytes);
  const data = snapshotData(step.bytes, ++model.dataSeed);
  if (step.restart)
    await writeChunk(storage, snapshotMetadata(index + 1, term, 500), 0, snapshotData(50, 0));
  for (let offset = 0; offset === 0 || offset < data.length; offset += step.chunkBytes) {
    await writeChunk(storage, metadata, offset, data.subarray(offset, offset + step.chunkBytes));
  }
  await installSnapshot(storage, metadata, {
    keepLogAfter: step.keep,
    trailingEntries: step.trailing,
  });
  const keptFirst = Math.max(first?.index ?? 0, index - step.trailing + 1);
  const keep = step.keep && last !== undefined && last.index >= index && keptFirst <= last.index;
  model.entries = keep ? model.entries.filter((entry) => entry.index >= keptFirst) : [];
  model.snapshot = { metadata, data };
  expect((await readChunk(storage, metadata, 0, step.bytes + 10)).equals(data)).toBe(true);
}

function expectMatches(state: RaftInitialState, model: Model): void {
  expect(state.hardState).toEqual(model.hardState);
  expect(state.snapshot).toEqual(model.snapshot?.metadata);
  expect(describeEntries(state.entries)).toEqual(describeEntries(model.entries));
}

describe('FileStorage against a reference model', () => {
  it('loads what the model holds after any sequence of operations and restarts', async () => {
    const limits = fc.record({
      segmentBytesMax: fc.constantFrom(1, 80, 300, 8 * 1024 * 1024),
      recordBytesMax: fc.constantFrom(60, 150, 4 * 1024 * 1024),
    });
    await fc.assert(
      fc.asyncProperty(limits, fc.array(command, { maxLength: 30 }), async (options, commands) => {
        const directory = temporaryDirectory();
        let { storage } = openStorage(directory, options);
        const model: Model = {
          entries: [],
          snapshot: undefined,
          hardState: { term: 0, vote: 0 },
          termMax: 0,
          dataSeed: 0,
        };
        for (const step of commands) {
          if (step.kind === 'append') await runAppend(storage, model, step);
          if (step.kind === 'snapshot') await runSnapshot(storage, model, step);
          if (step.kind === 'reopen') {
            const reopened = await reopen(storage, directory, options);
            expectMatches(reopened.state, model);
            storage = reopened.storage;
          }
        }
        const { state, storage: last } = await reopen(storage, directory, options);
        expectMatches(state, model);
        await last.close();
      }),
      { seed, numRuns },
    );
  });
});
