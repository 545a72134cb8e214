import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module } from '@skipnet/nn';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import { tempName, writeDurable, writeFileAtomic } from './files.ts';
import type { History } from './history.ts';
import type { Optimizer, OptimizerState } from './optim.ts';

/** Where a run stands: enough to continue it exactly (same batches, same curves). */
export interface RunState {
  /** Epochs finished (0-based index of the epoch in progress). */
  epoch: number;
  /** Batches of epoch `epoch` already trained (0 at an epoch boundary; > 0 after an interruption). */
  batch: number;
  /** Optimizer steps taken over the whole run (per-step schedules read it). */
  globalStep: number;
  /** The epoch in progress so far: d2l's Accumulator (loss × examples, correct, examples) and its timed seconds. */
  accumulator: { loss: number; correct: number; examples: number; seconds: number };
  /** d2l's timer: seconds of forward/backward/update/metrics over the whole run. */
  trainSeconds: number;
  /** Wall-clock seconds already spent on the epoch in progress. */
  epochSeconds: number;
  /** Batches per epoch, once known. */
  batchesPerEpoch: number | null;
  /** The seed the run was started with (init and data order derive from it and the epoch), or null. */
  seed: number | null;
  history: History;
}

/** The files of one checkpoint folder. */
export const CHECKPOINT_FILES = {
  weights: 'weights.safetensors',
  optimizer: 'optimizer.safetensors',
  state: 'state.json',
} as const;

const FORMAT = 'skipnet-trainer-checkpoint';
const VERSION = 1;

/** A folder name that sorts in run order: `epoch-0003` at a boundary, `epoch-0003-batch-000017` inside one. */
export function checkpointName(state: Pick<RunState, 'epoch' | 'batch'>): string {
  const e = String(state.epoch).padStart(4, '0');
  return state.batch === 0 ? `epoch-${e}` : `epoch-${e}-batch-${String(state.batch).padStart(6, '0')}`;
}

/**
 * GPU backends cannot read synchronously in Node (tfjs-backend-webgpu's sync read needs OffscreenCanvas), and
 * writeSafetensors reads with dataSync: an asynchronous read first leaves the values cached on the CPU.
 */
async function downloadAll(tensors: Record<string, tf.Tensor>): Promise<void> {
  await Promise.all(Object.values(tensors).map((t) => t.data()));
}

async function modelBytes(model: Module): Promise<Uint8Array> {
  const tensors = model.stateDict();
  try {
    await downloadAll(tensors);
    // PyTorch keeps num_batches_tracked as int64; so does the file, so the seed's code loads it unchanged.
    const dtypes = Object.fromEntries(
      Object.keys(tensors)
        .filter((k) => k.endsWith('num_batches_tracked'))
        .map((k) => [k, 'I64' as const]),
    );
    return writeSafetensors(tensors, {
      dtypes,
      metadata: { format: 'pt', layout: 'PyTorch state_dict: conv OIHW, linear [out, in]' },
    });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

async function optimizerBytes(optimizer: Optimizer): Promise<Uint8Array> {
  const state = optimizer.stateDict();
  try {
    await downloadAll(state.tensors);
    return writeSafetensors(state.tensors, {
      metadata: {
        kind: state.kind,
        step: String(state.step),
        hyper: JSON.stringify(state.hyper),
        layout: 'slots keyed <parameter>.<slot>, in the parameters tfjs layout (conv HWIO, linear [in, out])',
      },
    });
  } finally {
    tf.dispose(Object.values(state.tensors));
  }
}

/**
 * Writes a checkpoint folder under `dir/checkpoints/` (model weights with PyTorch names, optimizer state, run
 * state and history), then points `dir/checkpoints/latest.json` at it. Every file is written to a temporary
 * name, synced and renamed, the folder is renamed into place whole, and the pointer is written last: a crash at
 * any moment leaves the previous checkpoint intact and `latest` naming a complete one. Keeps the newest `keep`.
 * Returns the folder's path.
 */
export async function saveCheckpoint(
  dir: string,
  parts: { model: Module; optimizer: Optimizer; state: RunState },
  keep = 2,
): Promise<string> {
  const root = join(dir, 'checkpoints');
  await mkdir(root, { recursive: true });
  const name = checkpointName(parts.state);
  const final = join(root, name);
  const tmp = tempName(final);
  await mkdir(tmp);
  try {
    await writeDurable(join(tmp, CHECKPOINT_FILES.weights), await modelBytes(parts.model));
    await writeDurable(join(tmp, CHECKPOINT_FILES.optimizer), await optimizerBytes(parts.optimizer));
    const json = { format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), ...parts.state };
    await writeDurable(join(tmp, CHECKPOINT_FILES.state), JSON.stringify(json, null, 1));
    // A folder of that name can exist when a run is resumed from an older checkpoint: move it aside first.
    const old = tempName(final);
    await rename(final, old).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(tmp, final);
    await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  await writeFileAtomic(join(root, 'latest.json'), JSON.stringify({ checkpoint: name }) + '\n');
  await prune(root, name, keep);
  return final;
}

async function prune(root: string, current: string, keep: number): Promise<void> {
  const names = (await readdir(root)).filter((n) => /^epoch-\d+(-batch-\d+)?$/.test(n)).sort();
  const stale = names.filter((n) => n !== current).slice(0, Math.max(0, names.length - Math.max(1, keep)));
  for (const n of stale) await rm(join(root, n), { recursive: true, force: true });
}

/** The folder `dir/checkpoints/latest.json` points at, or null when there is none. */
export async function latestCheckpoint(dir: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'checkpoints', 'latest.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const name = (JSON.parse(text) as { checkpoint?: unknown }).checkpoint;
  if (typeof name !== 'string' || !/^epoch-\d+(-batch-\d+)?$/.test(name)) {
    throw new Error(`${join(dir, 'checkpoints', 'latest.json')} is damaged; point it at a checkpoint folder`);
  }
  return join(dir, 'checkpoints', name);
}

/** Reads an optimizer state file written by {@link saveCheckpoint}; the caller disposes its tensors. */
export function readOptimizerState(bytes: Uint8Array): OptimizerState {
  const { metadata } = readSafetensorsHeader(bytes);
  const kind = metadata['kind'];
  const step = Number(metadata['step']);
  if (kind === undefined || !Number.isInteger(step)) {
    throw new Error(
      'optimizer.safetensors has no kind/step metadata; it was not written by @skipnet/trainer',
    );
  }
  return { kind, step, hyper: JSON.parse(metadata['hyper'] ?? '{}'), tensors: readSafetensors(bytes) };
}

/**
 * Loads a checkpoint folder into `model` and `optimizer` (in place) and returns the run state saved with it.
 * Errors name the folder and what does not fit (another model's weights, another optimizer).
 */
export async function loadCheckpoint(
  folder: string,
  parts: { model: Module; optimizer: Optimizer },
): Promise<RunState> {
  const stateText = await readFile(join(folder, CHECKPOINT_FILES.state), 'utf8');
  const {
    format,
    version,
    savedAt: _,
    ...state
  } = JSON.parse(stateText) as RunState & {
    format: string;
    version: number;
    savedAt: string;
  };
  if (format !== FORMAT || version !== VERSION) {
    throw new Error(
      `${folder}: not a ${FORMAT} v${VERSION} checkpoint (format ${format}, version ${version})`,
    );
  }
  const weights = readSafetensors(await readFile(join(folder, CHECKPOINT_FILES.weights)));
  try {
    parts.model.loadStateDict(weights);
  } catch (e) {
    throw new Error(`${folder}: the weights do not fit this model: ${(e as Error).message}`);
  } finally {
    tf.dispose(Object.values(weights));
  }
  const opt = readOptimizerState(await readFile(join(folder, CHECKPOINT_FILES.optimizer)));
  try {
    parts.optimizer.loadStateDict(opt);
  } catch (e) {
    throw new Error(`${folder}: ${(e as Error).message}`);
  } finally {
    tf.dispose(Object.values(opt.tensors));
  }
  return state;
}
