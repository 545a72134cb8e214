/**
 * Where a run keeps its checkpoints and reports. The trainer speaks only this interface, so the same loop writes
 * a folder in Node (`FolderStore`, from the Node entry) and IndexedDB in a browser ({@link IndexedDBStore}); a
 * store of your own (S3, OPFS, memory) implements these eight members.
 *
 * Paths are `/`-separated and relative to the run: `history.json`, `checkpoints/epoch-0003/state.json`.
 */
export interface RunStore {
  /** The run's place as messages name it: a folder path, or `indexeddb://<database>/<run>`. */
  readonly location: string;
  /** `path` as messages and results name it (for a folder store, the file's path on disk). */
  locate(path: string): string;
  /** The bytes at `path`, or null when there is nothing there. */
  read(path: string): Promise<Uint8Array | null>;
  /** Replaces `path` atomically: a reader sees the old bytes or the new ones, never a part. */
  write(path: string, data: Uint8Array | string): Promise<void>;
  /**
   * Writes `files` as the folder `path`, whole: once it resolves every file is there and durable (an older
   * folder of that name is replaced); after a crash at any moment, either all of them are there or none.
   */
  writeFolder(path: string, files: Record<string, Uint8Array | string>): Promise<void>;
  /** Names of the entries directly inside folder `path` (files and folders); [] when it does not exist. */
  list(path: string): Promise<string[]>;
  /** Removes folder `path` and everything in it; nothing happens when it does not exist. */
  remove(path: string): Promise<void>;
  /**
   * Removes what interrupted writes left behind (temporary files and folders of a killed run) and returns
   * their paths, for a log line. A store whose writes are transactions has nothing to clean.
   */
  clean(): Promise<string[]>;
}

const encoder = new TextEncoder();

/** `data` as bytes (strings as UTF-8). */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}
