// Disks the nemesis can break: each node's data directory on its own small tmpfs (so it can
// fill up) and a preloaded shim (slow-io.c, built here with the machine's C compiler) that makes
// its fsyncs and O_DSYNC writes slow on demand. Both need root (mount) and gcc, as on CI; without
// them `diskFaultsUnavailable` says why, and the runs skip loudly locally and fail on CI.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Each node's disk; a test fills it on purpose, so it only needs room for a short run. */
export const nodeDiskBytes = 256 * 1024 * 1024;
const fillerName = 'filler.tmp';
const fillChunk = Buffer.alloc(1024 * 1024);

let unavailable: string | null | undefined;

/** Why disk faults cannot run on this machine, or null when they can. Probed once. */
export function diskFaultsUnavailable(): string | null {
  if (unavailable !== undefined) return unavailable;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'disk-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    execFileSync('gcc', ['--version'], { stdio: 'pipe' });
    unavailable = null;
  } catch (error) {
    unavailable = `disk faults need root (to mount a tmpfs) and gcc: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
  return unavailable;
}

/** Use as `describe.skipIf(!requireDiskFaults())(...)`: skips loudly locally, fails on CI. */
export function requireDiskFaults(): boolean {
  const reason = diskFaultsUnavailable();
  if (reason === null) return true;
  if (process.env.CI === 'true') throw new Error(`disk fault runs are required on CI: ${reason}`);
  console.error(`SKIPPING disk fault runs: ${reason}`);
  return false;
}

/** Builds the slow-I/O shim into `directory`; returns its path. */
function buildShim(directory: string): string {
  const library = path.join(directory, 'slow-io.so');
  const source = new URL('./slow-io.c', import.meta.url).pathname;
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', library, source, '-ldl'], {
    stdio: 'pipe',
  });
  return library;
}

/**
 * The disks of one cluster's nodes: `node1`..`nodeN` under `directory`, each a tmpfs of
 * `nodeDiskBytes`, made before the nodes start (LocalCluster names data directories so).
 */
export class NodeDisks {
  readonly directory: string;
  readonly #mounts: string[];
  readonly #shim: string;

  private constructor(directory: string, mounts: string[], shim: string) {
    this.directory = directory;
    this.#mounts = mounts;
    this.#shim = shim;
  }

  static create(nodes: number): NodeDisks {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-disks-'));
    const mounts: string[] = [];
    try {
      const shim = buildShim(directory);
      for (let i = 1; i <= nodes; i++) {
        const mount = path.join(directory, `node${i}`);
        fs.mkdirSync(mount);
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${nodeDiskBytes}`, 'tmpfs', mount], {
          stdio: 'pipe',
        });
        mounts.push(mount);
      }
      return new NodeDisks(directory, mounts, shim);
    } catch (error) {
      for (const mount of mounts) unmount(mount);
      fs.rmSync(directory, { recursive: true, force: true });
      throw error;
    }
  }

  /** The variables that put the shim in a node's process (LocalClusterOptions.environment). */
  environment(dataDir: string): Record<string, string> {
    return { LD_PRELOAD: this.#shim, DQLITE_TS_SLOW_IO: `${dataDir}.slow-io` };
  }

  /** Fills the node's disk to the last byte; `free` gives the space back. */
  fill(dataDir: string): void {
    const descriptor = fs.openSync(path.join(dataDir, fillerName), 'w');
    try {
      // Bounded: the tmpfs holds at most nodeDiskBytes.
      for (let chunk = 0; chunk <= nodeDiskBytes / fillChunk.length; chunk++) {
        fs.writeSync(descriptor, fillChunk);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    } finally {
      fs.closeSync(descriptor);
    }
  }

  free(dataDir: string): void {
    fs.rmSync(path.join(dataDir, fillerName), { force: true });
  }

  /** Every fsync and O_DSYNC write of the node's process sleeps `ms` first (0: none). */
  slow(dataDir: string, ms: number): void {
    fs.writeFileSync(`${dataDir}.slow-io`, String(ms));
  }

  /** Unmounts every disk (lazily: a node killed a moment ago may still hold files) and cleans up. */
  remove(): void {
    for (const mount of this.#mounts) unmount(mount);
    fs.rmSync(this.directory, { recursive: true, force: true });
  }
}

function unmount(mount: string): void {
  try {
    execFileSync('umount', ['-l', mount], { stdio: 'pipe' });
  } catch {
    // Not mounted (any more): nothing to undo.
  }
}

/**
 * An ext4 file system in a loop-mounted image file, for the read-only fault: ext4's
 * trigger_fs_error makes the kernel remount it read-only at once (errors=remount-ro), open files
 * or not, as it does on a real I/O error. Getting it back takes what an operator does: stop the
 * node, unmount, fsck, mount.
 */
export class LoopDisk {
  readonly mountPoint: string;
  readonly #image: string;
  #device: string | undefined;

  private constructor(mountPoint: string, image: string) {
    this.mountPoint = mountPoint;
    this.#image = image;
  }

  /** Why a loop-mounted ext4 cannot be made here, or null. */
  static unavailable(): string | null {
    const reason = diskFaultsUnavailable();
    if (reason !== null) return reason;
    try {
      execFileSync('losetup', ['--version'], { stdio: 'pipe' });
      execFileSync('mkfs.ext4', ['-V'], { stdio: 'pipe' });
      return null;
    } catch (error) {
      return `the read-only fault needs losetup and mkfs.ext4: ${(error as Error).message.split('\n')[0]}`;
    }
  }

  static create(mountPoint: string, bytes = nodeDiskBytes): LoopDisk {
    const image = `${mountPoint}.img`;
    fs.mkdirSync(mountPoint, { recursive: true });
    fs.writeFileSync(image, '');
    fs.truncateSync(image, bytes);
    execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'pipe' });
    const disk = new LoopDisk(mountPoint, image);
    disk.#mount();
    return disk;
  }

  #mount(): void {
    this.#device = execFileSync('losetup', ['-f', '--show', this.#image]).toString().trim();
    execFileSync('mount', ['-o', 'errors=remount-ro', this.#device, this.mountPoint], {
      stdio: 'pipe',
    });
  }

  /** The kernel remounts it read-only, as after an I/O error. */
  breakReadOnly(): void {
    const device = path.basename(this.#device ?? '');
    fs.writeFileSync(`/sys/fs/ext4/${device}/trigger_fs_error`, 'dqlite-ts fault run');
  }

  /** Unmount, fsck, mount again: writable once more. Nothing may have files open in it. */
  repair(): void {
    this.#unmount(false);
    try {
      execFileSync('e2fsck', ['-f', '-y', this.#image], { stdio: 'pipe' });
    } catch (error) {
      // Exit status 1 means "errors corrected", which is the point.
      if ((error as { status?: number }).status !== 1) throw error;
    }
    this.#mount();
  }

  /** Lazily when cleaning up (a node killed a moment ago may still hold files); fsck needs it gone. */
  #unmount(lazy: boolean): void {
    if (this.#device === undefined) return;
    if (lazy) unmount(this.mountPoint);
    else execFileSync('umount', [this.mountPoint], { stdio: 'pipe' });
    execFileSync('losetup', ['-d', this.#device], { stdio: 'pipe' });
    this.#device = undefined;
  }

  remove(): void {
    try {
      this.#unmount(true);
    } finally {
      fs.rmSync(this.#image, { force: true });
    }
  }
}
