/**
 * The files of a storage directory and their names. Numbers are zero-padded to 16 digits (enough
 * for any safe integer) so that sorting names sorts numbers, and `ls` shows segments in order.
 *
 * - `segment-<sequence>-<first index>.log`: log segments. The sequence orders them (a segment
 *   started to replace a conflicting suffix can begin below an older segment's first index);
 *   the first index is the index of the segment's first entry.
 * - `hard-state-1`, `hard-state-2`: the two alternating copies of term and vote.
 * - `snapshot-<generation>.meta` and `snapshot-<generation>.data`: a snapshot's metadata and
 *   data; the highest generation with a metadata file is current.
 * - `snapshot.staging`: snapshot chunks received but not installed. `*.tmp`: files being
 *   written before a rename. Both are leftovers after a restart and are deleted.
 */
export type StorageFile =
  | {
      readonly kind: 'segment';
      readonly name: string;
      readonly sequence: number;
      readonly firstIndex: number;
    }
  | { readonly kind: 'hard-state'; readonly name: string; readonly slot: HardStateSlot }
  | { readonly kind: 'snapshot-metadata'; readonly name: string; readonly generation: number }
  | { readonly kind: 'snapshot-data'; readonly name: string; readonly generation: number }
  | { readonly kind: 'temporary'; readonly name: string }
  | { readonly kind: 'unknown'; readonly name: string };

/** Which of the two hard-state copies: 0 for `hard-state-1`, 1 for `hard-state-2`. */
export type HardStateSlot = 0 | 1;

const digits = 16;
export const snapshotStagingFileName = 'snapshot.staging';
export const temporarySuffix = '.tmp';

export function segmentFileName(sequence: number, firstIndex: number): string {
  return `segment-${padded(sequence)}-${padded(firstIndex)}.log`;
}

export function hardStateFileName(slot: HardStateSlot): string {
  return `hard-state-${slot + 1}`;
}

export function snapshotMetadataFileName(generation: number): string {
  return `snapshot-${padded(generation)}.meta`;
}

export function snapshotDataFileName(generation: number): string {
  return `snapshot-${padded(generation)}.data`;
}

const segmentPattern = /^segment-(\d{16})-(\d{16})\.log$/;
const snapshotPattern = /^snapshot-(\d{16})\.(meta|data)$/;

/** Classifies a directory entry by its name. */
export function parseStorageFileName(name: string): StorageFile {
  const segment = segmentPattern.exec(name);
  if (segment !== null) {
    const sequence = Number(segment[1]);
    const firstIndex = Number(segment[2]);
    if (Number.isSafeInteger(sequence) && Number.isSafeInteger(firstIndex) && firstIndex >= 1) {
      return { kind: 'segment', name, sequence, firstIndex };
    }
  }
  if (name === hardStateFileName(0)) return { kind: 'hard-state', name, slot: 0 };
  if (name === hardStateFileName(1)) return { kind: 'hard-state', name, slot: 1 };
  const snapshot = snapshotPattern.exec(name);
  if (snapshot !== null) {
    const generation = Number(snapshot[1]);
    if (Number.isSafeInteger(generation)) {
      const kind = snapshot[2] === 'meta' ? 'snapshot-metadata' : 'snapshot-data';
      return { kind, name, generation };
    }
  }
  if (name === snapshotStagingFileName || name.endsWith(temporarySuffix)) {
    return { kind: 'temporary', name };
  }
  return { kind: 'unknown', name };
}

function padded(value: number): string {
  return String(value).padStart(digits, '0');
}
