import '@tensorflow/tfjs-backend-cpu';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, Sequential } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchEndInfo } from './callbacks.ts';
import { checkpointSettings, latestCheckpoint } from './checkpoint.ts';
import { ResumeDataError, TrainingAbortedError } from './errors.ts';
import { FolderStore } from './folder-store.ts';
import type { History } from './history.ts';
import { SGD } from './optim.ts';
import { cosineAnnealingLR, oneCycleLR, stepLR } from './schedule.ts';
import { tinyModel, toyData } from './test-helpers.ts';
import type { OptimizerFactory } from './train.ts';
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

/** A copy of a 3-epoch run stopped after epoch 2 (checkpoints epoch-0001 and epoch-0002), to damage or resume. */
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
  const stop = new AbortController();
  await expect(
    trainCh6(model, toyData(16, 8), toyData(8, 8), {
      ...options(template, []),
      signal: stop.signal,
      callbacks: { onEpochEnd: ({ record }) => void (record.epoch === 2 && stop.abort()) },
    }),
  ).rejects.toThrow(TrainingAbortedError);
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
      epochs: 3,
      schedule: null,
      seed: 4,
      config: null,
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

describe('resume with a schedule', () => {
  /** Weights as bytes, to compare two runs exactly. */
  const weightsOf = (dir: string) => readFile(ckpt(dir, 'epoch-0003', 'weights.safetensors'));
  const withoutTimes = (h: History) => h.epochs.map(({ time: _, trainTime: __, ...rest }) => rest);

  it('one-cycle from the optimizer’s rate: stopped and resumed without restating the rate, it repeats the run that never stopped', async () => {
    // 3 epochs of 2 steps; the resumed run's factory takes the rate from the checkpoint, as a command line does
    // for a flag not given again; its own default (0.01) must not leak into the schedule.
    const schedule = () => oneCycleLR({ totalSteps: 6 });
    const factory =
      (lr: number): OptimizerFactory =>
      (p, saved) =>
        new SGD(p, { lr: saved?.initialLr ?? lr, momentum: 0.9 });
    const run = async (dir: string, extra: Partial<TrainOptions>) => {
      const rates: number[] = [];
      const model = tinyModel();
      try {
        const r = await trainCh6(model, toyData(16, 8), toyData(8, 8), {
          ...options(dir, []),
          schedule: schedule(),
          callbacks: { onBatchEnd: (b) => void rates.push(b.lr) },
          ...extra,
        });
        return { rates, history: r.history };
      } catch (e) {
        if (!(e instanceof TrainingAbortedError)) throw e;
        return { rates, history: null };
      } finally {
        model.dispose();
      }
    };
    const straight = await run(join(root, 'onecycle-straight'), { optimizer: factory(0.2) });
    const dir = join(root, 'onecycle-resumed');
    const stop = new AbortController();
    const first = await run(dir, {
      optimizer: factory(0.2),
      signal: stop.signal,
      callbacks: { onBatchEnd: (b) => void (b.globalStep === 3 && stop.abort()) },
    });
    expect(first.history).toBeNull();
    // The checkpoint offers the momentum the run was made with, not the one the cycle had reached at step 3.
    const saved = await checkpointSettings(new FolderStore(dir));
    expect(saved).toMatchObject({
      initialLr: 0.2,
      hyper: { momentum: 0.9 },
      schedule: { name: 'oneCycleLR' },
    });
    const lines: string[] = [];
    const resumed = await run(dir, { optimizer: factory(0.01), resume: true, log: (l) => lines.push(l) });
    expect(resumed.rates).toEqual(straight.rates.slice(3));
    expect(straight.rates[0]).toBeCloseTo(0.2 / 25, 15); // the cycle's start: the optimizer's rate / divFactor
    expect(lines.filter((l) => l.startsWith('resume:'))).toEqual([]);
    expect(withoutTimes(resumed.history!)).toEqual(withoutTimes(straight.history!));
    expect((await weightsOf(dir)).equals(await weightsOf(join(root, 'onecycle-straight')))).toBe(true);
  });

  it('says which settings differ: the schedule’s, epochs, batches per epoch and your config', async () => {
    const dir = join(root, `run-${n++}`);
    const model = tinyModel();
    const base = {
      ...options(dir, [], 1),
      schedule: stepLR({ stepSize: 1 }),
      config: { batchSize: 8, widths: [4] },
    };
    await trainCh6(model, toyData(16, 8), toyData(8, 8), base);
    expect(await checkpointSettings(new FolderStore(dir))).toEqual({
      kind: 'SGD',
      initialLr: 0.1,
      hyper: { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
      epochs: 1,
      schedule: { name: 'stepLR', stepSize: 1, gamma: 0.1 },
      seed: 4,
      config: { batchSize: 8, widths: [4] },
    });
    const lines: string[] = [];
    await trainCh6(model, toyData(16, 4), toyData(8, 8), {
      ...options(dir, lines, 2),
      resume: true,
      schedule: stepLR({ stepSize: 2 }),
      config: { batchSize: 4, widths: [4] },
    });
    expect(lines[0]).toBe(
      "resume: settings differ from the checkpoint's, yours are used: batchSize 4 (checkpoint 8), epochs 2 " +
        '(checkpoint 1), batchesPerEpoch 4 (checkpoint 2), stepLR stepSize 2 (checkpoint 1)',
    );
    // The next checkpoint records the settings the run now has.
    expect(await checkpointSettings(new FolderStore(dir))).toMatchObject({
      epochs: 2,
      schedule: { stepSize: 2 },
      config: { batchSize: 4 },
    });
    model.dispose();
  });

  it('another kind of schedule takes over where the run is, and the run says so in a line of its own', async () => {
    const dir = await run2();
    const lines: string[] = [];
    const model = tinyModel();
    const r = await trainCh6(model, toyData(16, 8), toyData(8, 8), {
      ...options(dir, lines),
      resume: true,
      schedule: cosineAnnealingLR({ tMax: 3 }),
    });
    expect(lines.slice(0, 2)).toEqual([
      "resume: settings differ from the checkpoint's, yours are used: schedule cosineAnnealingLR (checkpoint none)",
      'resume: the schedule is not the checkpoint\'s: cosineAnnealingLR({ tMax: 3, etaMin: 0, interval: "epoch" }) ' +
        'takes over from a constant rate (no schedule) at epoch 3, step 5 of the run, with the rate it gives ' +
        'there, as if the run had used it from the start',
    ]);
    const rates = r.history.epochs.map((e) => e.lr);
    expect(rates.slice(0, 2)).toEqual([0.1, 0.1]);
    expect(rates[2]).toBeCloseTo((0.1 * (1 + Math.cos((2 * Math.PI) / 3))) / 2, 12);
    model.dispose();
  });

  it('says when a resumed run has no epochs left to train', async () => {
    const dir = await run2();
    const lines: string[] = [];
    const model = tinyModel();
    await trainCh6(model, toyData(16, 8), toyData(8, 8), { ...options(dir, lines, 2), resume: true });
    expect(lines).toContain('resume: the run has trained 2 epochs of 2 already; raise epochs to train on');
    expect(lines.filter((l) => l.startsWith('epoch '))).toEqual([]);
    model.dispose();
  });
});

/** Passes its input on, noting in training mode which examples it saw (each toy image's first value is its own). */
class TrainedExamples extends Module {
  readonly seen: number[] = [];
  forward(x: tf.Tensor): tf.Tensor {
    if (this.training) this.seen.push(...tf.tidy(() => tf.slice(x, 0, [-1, 1, 1, 1]).dataSync()));
    return x;
  }
}

describe('resume inside an epoch with batches of another size', () => {
  // 16 examples in batches of 4, 2 epochs; stopped in epoch 2 after 2 batches (8 examples, step 6 of the run).
  const data = (batchSize: number, count = 16) => toyData(count, batchSize);
  /** Each toy image's id (its index) by its first value, read from epoch 1, whose order is the identity. */
  const ids = new Map<number, number>();
  const schedule = () => cosineAnnealingLR({ tMax: 20, interval: 'step' });
  let stopped: string;
  let before: number[];
  let beforeSteps: Array<{ loss: number; examples: number }>;

  /** Trains with `batchSize` from a copy of the stopped run, noting each step and the examples of epoch 2. */
  async function resumeWith(
    train: ReturnType<typeof toyData>,
    extra: Partial<TrainOptions> = {},
    from = stopped,
  ) {
    const dir = join(root, `run-${n++}`);
    await cp(from, dir, { recursive: true });
    const spy = new TrainedExamples();
    const model = new Sequential(spy, tinyModel());
    const lines: string[] = [];
    const steps: BatchEndInfo[] = [];
    const measured: Array<{ loss: number; examples: number }> = [];
    try {
      const result = await trainCh6(model, train, toyData(8, 8), {
        ...options(dir, lines, 2),
        resume: true,
        schedule: schedule(),
        callbacks: {
          onBatchEnd: async (b) => {
            steps.push(b);
            const m = await b.metrics();
            measured.push({ loss: m.loss, examples: m.examples });
          },
        },
        ...extra,
      });
      return { dir, lines, steps, measured, result, error: null, seen: spy.seen.map((v) => ids.get(v)) };
    } catch (error) {
      return {
        dir,
        lines,
        steps,
        measured,
        result: null,
        error: error as Error,
        seen: spy.seen.map((v) => ids.get(v)),
      };
    } finally {
      model.dispose();
    }
  }

  beforeAll(async () => {
    const [all] = Array.from(data(16).batches(0));
    const values = all!.x.dataSync();
    for (let i = 0; i < 16; i++) ids.set(values[i * 108]!, i);
    tf.dispose([all!.x, all!.y]);
    stopped = join(root, 'stopped-inside-epoch-2');
    const spy = new TrainedExamples();
    const model = new Sequential(spy, tinyModel());
    const stop = new AbortController();
    beforeSteps = [];
    await expect(
      trainCh6(model, data(4), toyData(8, 8), {
        ...options(stopped, [], 2),
        schedule: schedule(),
        signal: stop.signal,
        callbacks: {
          onBatchEnd: async (b) => {
            if (b.epoch === 1) {
              const m = await b.metrics();
              beforeSteps.push({ loss: m.loss, examples: m.examples });
            }
            if (b.epoch === 1 && b.batch === 2) stop.abort();
          },
        },
      }),
    ).rejects.toThrow(TrainingAbortedError);
    before = spy.seen.slice(16).map((v) => ids.get(v)!);
    expect(before).toHaveLength(8);
    model.dispose();
  });

  /** Every example of epoch 2 trained once, the epoch's sums over them, its points, steps and rates in order. */
  function expectEpoch2Whole(r: Awaited<ReturnType<typeof resumeWith>>) {
    expect(r.error).toBeNull();
    const epoch2 = [...before, ...r.seen];
    expect([...epoch2].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    const record = r.result!.history.epochs[1]!;
    expect(record.examples).toBe(16);
    // d2l's accumulator: each step's loss weighted by its examples, before the stop and after it.
    const all = [...beforeSteps, ...r.measured];
    const sum = all.reduce((s, m, i) => s + m.loss * (m.examples - (all[i - 1]?.examples ?? 0)), 0);
    expect(record.loss).toBeCloseTo(sum / 16, 12);
    const points = r.result!.history.points.filter((p) => p.trainLoss !== undefined && p.epoch > 1);
    expect(points.map((p) => p.epoch)).toEqual([...points.map((p) => p.epoch)].sort());
    expect(points.at(-1)!.epoch).toBe(2);
    // Steps count on from the checkpoint's 6, and a per-step schedule reads them.
    expect(r.steps.map((b) => b.globalStep)).toEqual(r.steps.map((_, i) => 7 + i));
    for (const b of r.steps) expect(b.lr).toBe(schedule().lr(b.globalStep - 1, 0.1));
  }

  it('aligned (batches of 8 after 8 examples): skips one batch and trains the other', async () => {
    const r = await resumeWith(data(8));
    expectEpoch2Whole(r);
    expect(r.seen).toHaveLength(8);
    expect(r.steps.map((b) => [b.batch, b.batches])).toEqual([[2, 2]]);
    expect(r.lines.filter((l) => l.startsWith('resume:'))).toEqual([
      "resume: settings differ from the checkpoint's, yours are used: batchesPerEpoch 2 (checkpoint 4)",
      "resume: epoch 2 continues after the 8 examples the checkpoint trained of it, in batches of another size than the checkpoint's: 1 skipped",
    ]);
  });

  it('misaligned (batches of 6 after 8 examples): the batch across the position trains only its untrained examples', async () => {
    const r = await resumeWith(data(6));
    expectEpoch2Whole(r);
    expect(r.steps.map((b) => [b.batch, b.examples])).toEqual([
      [2, 12],
      [3, 16],
    ]);
    expect(r.lines.filter((l) => l.startsWith('resume:'))).toEqual([
      "resume: settings differ from the checkpoint's, yours are used: batchesPerEpoch 3 (checkpoint 4)",
      "resume: epoch 2 continues after the 8 examples the checkpoint trained of it, in batches of another size than the checkpoint's: 1 skipped, and the next trains only its last 4 of 6",
    ]);
  });

  it('names checkpoints inside an epoch by examples, so a later one sorts later even with larger batches', async () => {
    const stop = new AbortController();
    const r = await resumeWith(data(16), {
      signal: stop.signal,
      callbacks: { onBatchEnd: () => stop.abort() },
    });
    expect(r.error).toBeInstanceOf(TrainingAbortedError);
    const names = (await readdir(join(r.dir, 'checkpoints'))).filter((f) => f.startsWith('epoch-')).sort();
    expect(names.at(-1)).toBe(await latestCheckpoint(new FolderStore(r.dir)));
    expect(names.slice(-2)).toEqual(['epoch-0001-examples-000000008', 'epoch-0001-examples-000000016']);
  });

  it('refuses data with fewer examples in the epoch than the checkpoint trained, before training any', async () => {
    const r = await resumeWith(data(4, 4));
    expect(r.error).toBeInstanceOf(ResumeDataError);
    expect(r.error!.message).toContain(
      'is inside epoch 2, after 8 of its examples, but the training data yields only 4 examples in epoch 2',
    );
    expect(r.error!.message).toContain('Resume with the data the run was trained on to finish the epoch');
    expect(r.seen).toEqual([]);
    expect(await latestCheckpoint(new FolderStore(r.dir))).toBe('epoch-0001-examples-000000008');
  });

  it('refuses data with more examples an epoch than the run’s at the first batch past them, and saves nothing', async () => {
    const r = await resumeWith(data(8, 32));
    expect(r.error).toBeInstanceOf(ResumeDataError);
    expect(r.error!.message).toContain(
      "the training data yields more than 16 examples in epoch 2, the run's epochs had 16: it is not the data the run was trained on",
    );
    expect(r.error!.message).toContain('Nothing was saved');
    // Batch 2 (examples 9–16) trained; batch 3 is past the run's 16 and was refused.
    expect(r.seen).toHaveLength(8);
    expect(await latestCheckpoint(new FolderStore(r.dir))).toBe('epoch-0001-examples-000000008');
  });

  it('refuses data with fewer examples an epoch than the run’s at the epoch’s end', async () => {
    const r = await resumeWith(data(4, 12));
    expect(r.error).toBeInstanceOf(ResumeDataError);
    expect(r.error!.message).toContain(
      "the training data yields 12 examples in epoch 2, the run's epochs had 16: it is not the data the run was trained on",
    );
    expect(await latestCheckpoint(new FolderStore(r.dir))).toBe('epoch-0001-examples-000000008');
  });

  it('resumes a checkpoint named as 0.1.0 named them (epoch-0001-batch-000002); the next sorts after it', async () => {
    const old = join(root, 'stopped-named-by-batch');
    await cp(stopped, old, { recursive: true });
    await rename(ckpt(old, 'epoch-0001-examples-000000008'), ckpt(old, 'epoch-0001-batch-000002'));
    await writeFile(join(old, 'checkpoints', 'latest.json'), '{"checkpoint": "epoch-0001-batch-000002"}\n');
    const whole = await resumeWith(data(4), {}, old);
    expectEpoch2Whole(whole);
    expect(whole.lines.filter((l) => l.startsWith('resume:'))).toEqual([]);
    const stop = new AbortController();
    const r = await resumeWith(
      data(4),
      { signal: stop.signal, callbacks: { onBatchEnd: () => stop.abort() } },
      old,
    );
    expect(r.error).toBeInstanceOf(TrainingAbortedError);
    const names = (await readdir(join(r.dir, 'checkpoints'))).filter((f) => f.startsWith('epoch-')).sort();
    expect(names.slice(-2)).toEqual(['epoch-0001-batch-000002', 'epoch-0001-examples-000000012']);
    expect(await latestCheckpoint(new FolderStore(r.dir))).toBe(names.at(-1));
  });
});
