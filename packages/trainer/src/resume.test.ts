import '@tensorflow/tfjs-backend-cpu';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SGD } from './optim.ts';
import { tinyModel, toyData } from './test-helpers.ts';
import { type TrainOptions, trainCh6 } from './train-node.ts';

let root: string;
let template: string;
let n = 0;

const options = (outDir: string, lines: string[], epochs = 3): TrainOptions => ({
  epochs,
  seed: 4,
  outDir,
  keepCheckpoints: 3,
  optimizer: (p) => new SGD(p, { lr: 0.1, momentum: 0.9 }),
  log: (l) => lines.push(l),
  progress: 'none',
  png: false,
});

/** A copy of a finished 2-epoch run (checkpoints epoch-0001 and epoch-0002), to damage. */
async function run2(): Promise<string> {
  const dir = join(root, `run-${n++}`);
  await cp(template, dir, { recursive: true });
  return dir;
}

/** Resumes the run in `dir` to 3 epochs; returns its lines, or the error. */
async function resume(dir: string): Promise<{ lines: string[]; error?: Error; epochs?: number[] }> {
  const lines: string[] = [];
  const model = tinyModel();
  try {
    const r = await trainCh6(model, toyData(16, 8), toyData(8, 8), { ...options(dir, lines), resume: true });
    return { lines, epochs: r.history.epochs.map((e) => e.epoch) };
  } catch (error) {
    return { lines, error: error as Error };
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'skipnet-resume-'));
  template = join(root, 'template');
  const model = tinyModel();
  await trainCh6(model, toyData(16, 8), toyData(8, 8), options(template, [], 2));
  model.dispose();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const ckpt = (dir: string, name: string, file = '') => join(dir, 'checkpoints', name, file);

describe('resume from a damaged run names the file and takes the newest complete checkpoint', () => {
  it('latest.json not JSON', async () => {
    const dir = await run2();
    await writeFile(join(dir, 'checkpoints', 'latest.json'), '{"checkpoint": "epoch-00');
    const { lines, epochs } = await resume(dir);
    expect(lines[0]).toContain(`${join(dir, 'checkpoints', 'latest.json')} is not JSON`);
    expect(lines[1]).toBe(
      `resume: continuing from ${ckpt(dir, 'epoch-0002')}, the newest complete checkpoint`,
    );
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('latest.json null', async () => {
    const dir = await run2();
    await writeFile(join(dir, 'checkpoints', 'latest.json'), 'null');
    const { lines, epochs } = await resume(dir);
    expect(lines[0]).toMatch(/latest\.json does not name a checkpoint folder .*got null/);
    expect(lines[1]).toContain(ckpt(dir, 'epoch-0002'));
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('latest.json missing while checkpoints exist (a kill before the first pointer)', async () => {
    const dir = await run2();
    await rm(join(dir, 'checkpoints', 'latest.json'));
    const { lines, epochs } = await resume(dir);
    expect(lines[0]).toContain('latest.json is missing');
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('state.json damaged', async () => {
    const dir = await run2();
    await writeFile(ckpt(dir, 'epoch-0002', 'state.json'), '{"format": "skipnet-trainer-checkpoint", "vers');
    const { lines, epochs } = await resume(dir);
    expect(lines[0]).toContain(`${ckpt(dir, 'epoch-0002', 'state.json')} is not JSON`);
    expect(lines[1]).toContain(ckpt(dir, 'epoch-0001'));
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('state.json with a field missing', async () => {
    const dir = await run2();
    const file = ckpt(dir, 'epoch-0002', 'state.json');
    const { globalStep: _, ...rest } = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify(rest));
    const { lines } = await resume(dir);
    expect(lines[0]).toContain(`${file} has missing or malformed fields: globalStep`);
  });

  it('weights truncated', async () => {
    const dir = await run2();
    await truncate(ckpt(dir, 'epoch-0002', 'weights.safetensors'), 500);
    const { lines, epochs } = await resume(dir);
    expect(lines[0]).toMatch(/epoch-0002[/\\]weights\.safetensors cannot be read: safetensors: /);
    expect(lines[1]).toContain(ckpt(dir, 'epoch-0001'));
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('optimizer file missing', async () => {
    const dir = await run2();
    await rm(ckpt(dir, 'epoch-0002', 'optimizer.safetensors'));
    const { lines, epochs } = await resume(dir);
    expect(lines[0]).toContain(`${ckpt(dir, 'epoch-0002', 'optimizer.safetensors')} is missing`);
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('refuses, listing every problem, when no checkpoint is complete', async () => {
    const dir = await run2();
    await writeFile(join(dir, 'checkpoints', 'latest.json'), 'null');
    await rm(ckpt(dir, 'epoch-0002', 'optimizer.safetensors'));
    await truncate(ckpt(dir, 'epoch-0001', 'weights.safetensors'), 3);
    const { error } = await resume(dir);
    expect(error?.name).toBe('CheckpointError');
    expect(error?.message).toContain(`cannot resume the run in ${dir}: no complete checkpoint`);
    expect(error?.message).toContain('latest.json does not name a checkpoint folder');
    expect(error?.message).toContain(`${ckpt(dir, 'epoch-0002', 'optimizer.safetensors')} is missing`);
    expect(error?.message).toContain(`${ckpt(dir, 'epoch-0001', 'weights.safetensors')} cannot be read`);
  });

  it('removes the temporary folders and files a killed run left behind, and says so', async () => {
    const dir = await run2();
    const leftovers = [
      join(dir, 'checkpoints', '.epoch-0003.tmp-4242-0123abcd'),
      join(dir, 'checkpoints', '.latest.json.tmp-4242-89abcdef'),
      join(dir, '.history.json.tmp-4242-deadbeef'),
    ];
    await mkdir(leftovers[0]!);
    await writeFile(join(leftovers[0]!, 'weights.safetensors'), 'partial');
    await writeFile(leftovers[1]!, '{"checkp');
    await writeFile(leftovers[2]!, '{');
    const { lines, epochs } = await resume(dir);
    expect(lines[0]).toMatch(/^removed what an interrupted run left half-written: /);
    for (const l of leftovers) expect(lines[0]).toContain(l);
    expect(epochs).toEqual([1, 2, 3]);
    expect((await readdir(join(dir, 'checkpoints'))).filter((f) => f.startsWith('.'))).toEqual([]);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('resume with settings of your own', () => {
  it('keeps your lr and momentum over the checkpoint’s, says which differ, and offers the saved ones to the factory', async () => {
    const dir = await run2();
    const lines: string[] = [];
    const model = tinyModel();
    let offered: unknown;
    let optimizer: SGD | undefined;
    const result = await trainCh6(model, toyData(16, 8), toyData(8, 8), {
      ...options(dir, lines),
      resume: true,
      optimizer: (p, resumed) => {
        offered = resumed;
        optimizer = new SGD(p, { lr: 0.01, momentum: 0.5 });
        return optimizer;
      },
      callbacks: { onEpochEnd: () => expect(optimizer!.momentum).toBe(0.5) },
    });
    expect(offered).toEqual({
      kind: 'SGD',
      initialLr: 0.1,
      hyper: { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
    });
    expect(lines[0]).toBe(
      "resume: settings differ from the checkpoint's, yours are used: lr 0.01 (checkpoint 0.1), momentum 0.5 (checkpoint 0.9)",
    );
    expect(result.history.epochs.map((e) => e.lr)).toEqual([0.1, 0.1, 0.01]);
    model.dispose();
  });

  it('says nothing when the settings are the checkpoint’s', async () => {
    const dir = await run2();
    const { lines } = await resume(dir);
    expect(lines.filter((l) => l.startsWith('resume:'))).toEqual([]);
  });
});
