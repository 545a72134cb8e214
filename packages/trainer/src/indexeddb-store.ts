import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { type RunStore, toBytes } from './store.ts';

/** Options of {@link IndexedDBStore}. */
export interface IndexedDBStoreOptions {
  /** The run's name: one database holds many runs side by side. Default `'default'`. */
  run?: string;
  /** Database name. Default `'skipnet-trainer'`. */
  database?: string;
}

interface Schema extends DBSchema {
  /** Every file of every run, keyed `[run, path]`. */
  files: { key: [string, string]; value: Uint8Array };
}

// '\uffff' sorts after every character a path can hold, so [run, prefix] … [run, prefix + '\uffff'] is a folder.
const LAST = '\uffff';

/**
 * A {@link RunStore} in the browser's IndexedDB: each file one record keyed `[run, path]`. A checkpoint folder is
 * written in one transaction with `durability: 'strict'`, so it is all there or not at all, and nothing is ever
 * left half-written for {@link clean} to find. Reading a checkpoint's `weights.safetensors` back (see
 * `checkpointWeights`) gives the bytes for a "download" that the seed's PyTorch code loads unchanged.
 */
export class IndexedDBStore implements RunStore {
  readonly location: string;
  private readonly run: string;
  private readonly database: string;
  private db: Promise<IDBPDatabase<Schema>> | null = null;

  constructor(options: IndexedDBStoreOptions = {}) {
    this.run = options.run ?? 'default';
    this.database = options.database ?? 'skipnet-trainer';
    if (this.run === '') throw new Error('IndexedDBStore: run must be a non-empty name');
    this.location = `indexeddb://${this.database}/${this.run}`;
  }

  private open(): Promise<IDBPDatabase<Schema>> {
    if (typeof indexedDB === 'undefined' || typeof IDBKeyRange === 'undefined') {
      throw new Error(
        'IndexedDBStore: this environment has no IndexedDB (in Node, write to a folder with outDir instead)',
      );
    }
    this.db ??= openDB<Schema>(this.database, 1, {
      upgrade(db) {
        db.createObjectStore('files');
      },
    });
    return this.db;
  }

  private folderRange(path: string): IDBKeyRange {
    const prefix = path === '' ? '' : `${path}/`;
    return IDBKeyRange.bound([this.run, prefix], [this.run, prefix + LAST]);
  }

  locate(path: string): string {
    return `${this.location}/${path}`;
  }

  async read(path: string): Promise<Uint8Array | null> {
    return (await (await this.open()).get('files', [this.run, path])) ?? null;
  }

  async write(path: string, data: Uint8Array | string): Promise<void> {
    await (await this.open()).put('files', toBytes(data), [this.run, path]);
  }

  async writeFolder(path: string, files: Record<string, Uint8Array | string>): Promise<void> {
    const db = await this.open();
    const tx = db.transaction('files', 'readwrite', { durability: 'strict' });
    const writes: Promise<unknown>[] = [tx.store.delete(this.folderRange(path))];
    for (const [name, data] of Object.entries(files)) {
      writes.push(tx.store.put(toBytes(data), [this.run, `${path}/${name}`]));
    }
    await Promise.all([...writes, tx.done]);
  }

  async list(path: string): Promise<string[]> {
    const keys = await (await this.open()).getAllKeys('files', this.folderRange(path));
    const skip = path === '' ? 0 : path.length + 1;
    return [...new Set(keys.map(([, p]) => p.slice(skip).split('/')[0]!))];
  }

  async remove(path: string): Promise<void> {
    await (await this.open()).delete('files', this.folderRange(path));
  }

  async clean(): Promise<string[]> {
    return [];
  }

  /** Closes the database connection (a later call opens it again). */
  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    if (db) (await db).close();
  }
}
