import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The command as a user runs it: the built bin (turbo builds it before this test), a tiny synthetic run on wasm.
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'skipnet-cli-'));
chmodSync(work, 0o755); // the read-only test runs the CLI as another user
const out = join(work, 'run');
const tiny = [
  '--backend',
  'wasm',
  '--dataset',
  'synthetic',
  '--subset',
  '48',
  '--model',
  'cifar',
  '--widths',
  '4,8,8,8',
];

interface RunOptions {
  cwd?: string;
  /** Run as an ordinary user (nobody) when the tests run as root, who may write anywhere. */
  unprivileged?: boolean;
}

async function run(
  args: string[],
  options: RunOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (pnpm build)`);
  const asUser =
    options.unprivileged && process.getuid?.() === 0
      ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
      : [];
  const [command, ...rest] = [...asUser, process.execPath, cli, ...args];
  try {
    const { stdout, stderr } = await promisify(execFile)(command!, rest, {
      cwd: options.cwd ?? work,
      env: { ...process.env, XDG_CACHE_HOME: join(work, 'cache') },
      timeout: 240_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The options of the libraries, which a CLI user cannot pass: the CLI's messages name its flags instead. */
const LIBRARY_WORDS = /\burl:|md5: null|dataDir:|tarball:|loadSynthetic|download is false/;

/** A history without its wall-clock times, which no two runs share. */
function withoutTimes(history: { epochs: Array<Record<string, unknown>> }): unknown {
  return { ...history, epochs: history.epochs.map(({ time: _, trainTime: __, ...rest }) => rest) };
}

/** The optimizer settings a checkpoint saved (safetensors header metadata, `hyper`). */
function optimizerHyper(path: string): Record<string, unknown> {
  const bytes = readFileSync(path);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as {
    __metadata__: { hyper: string };
  };
  return JSON.parse(header.__metadata__.hyper) as Record<string, unknown>;
}

/** Every file under `dir` with its bytes, to show a run was left as it was. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files[relative(dir, path)] = readFileSync(path).toString('base64');
    }
  }
  return files;
}

describe('skipnet-train', () => {
  it('trains one epoch and writes checkpoint, history and plot', async () => {
    const r = await run([...tiny, '--epochs', '1', '--seed', '5', '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm — CPU \(WebAssembly/m);
    // --subset cuts each split, as its help says.
    expect(r.stdout).toMatch(/^dataset: SYNTHETIC \(built in, not CIFAR-10\), 48 train \/ 48 test images/m);
    expect(r.stdout).toMatch(
      /^epoch 1, loss \d+\.\d{3}, train acc \d\.\d{3}, test acc \d\.\d{3}, time \d+\.\d$/m,
    );
    expect(r.stdout).toMatch(/^\d+(\.\d)? examples\/sec on wasm$/m);
    for (const file of ['plot.svg', 'history.json', 'history.csv', 'epochs.csv', 'checkpoints/latest.json']) {
      expect(existsSync(join(out, file)), file).toBe(true);
      expect(r.stdout).toContain(join(out, file.split('/')[0]!));
    }
    expect(readFileSync(join(out, 'plot.svg'), 'utf8')).toMatch(/^<svg|<\?xml/);
  });

  it('resumes the run exactly: its seed, data and weights, as if it had never stopped', async () => {
    // No --seed: the resumed run keeps the checkpoint's 5, not the flag's default.
    const r = await run([...tiny, '--epochs', '2', '--out', out, '--resume', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^epoch 1,/m);
    expect(r.stdout).toMatch(/^epoch 2, loss /m);
    // The one setting given anew; nothing else differs.
    expect(r.stdout).toMatch(
      /^resume: settings differ from the checkpoint's, yours are used: epochs 2 \(checkpoint 1\)$/m,
    );
    const straight = join(work, 'straight');
    const s = await run([...tiny, '--epochs', '2', '--seed', '5', '--out', straight, '--no-progress']);
    expect(s.code, s.stderr).toBe(0);
    const history = (dir: string) =>
      withoutTimes(JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')));
    expect(history(out)).toEqual(history(straight));
    const weights = (dir: string) =>
      readFileSync(join(dir, 'checkpoints', 'epoch-0002', 'weights.safetensors'));
    expect(weights(out).equals(weights(straight))).toBe(true);
  });

  it('trains on webgpu when asked by name (here the Mesa software adapter; a GPU elsewhere)', async () => {
    const dir = join(work, 'webgpu');
    const r = await run([
      ...tiny.map((a) => (a === 'wasm' ? 'webgpu' : a)),
      // A software adapter is slow: one batch of 16 each way (commander takes the last --subset).
      '--subset',
      '16',
      '--batch-size',
      '16',
      '--test-batch-size',
      '16',
      '--epochs',
      '1',
      '--out',
      dir,
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend: webgpu — (CPU pretending to be a GPU|GPU \(WebGPU via Dawn)/m);
    expect(r.stdout).toMatch(/^epoch 1, loss \d+\.\d{3}, /m);
    expect(existsSync(join(dir, 'checkpoints', 'latest.json'))).toBe(true);
  });

  it.each(['wasm', 'cpu'])(
    'repeats a run exactly on %s: one --seed, one history and the same weights',
    async (backend) => {
      const small = ['--backend', backend, '--dataset', 'synthetic', '--subset', '16', '--batch-size', '8'];
      const args = [
        ...small,
        '--model',
        'cifar',
        '--widths',
        '2,2,4,4',
        '--image-size',
        '16',
        '--epochs',
        '1',
      ];
      const runs = [
        ['--seed', '7', 'a'],
        ['--seed', '7', 'b'],
        ...(backend === 'wasm' ? [['--seed', '8', 'c']] : []),
      ].map(([flag, seed, name]) => ({
        dir: join(work, `seed-${backend}-${name}`),
        flag: flag!,
        seed: seed!,
      }));
      for (const { dir, flag, seed } of runs) {
        const r = await run([...args, flag, seed, '--out', dir, '--no-progress']);
        expect(r.code, r.stderr).toBe(0);
        // tfjs-backend-cpu's "Hi, looks like you are running TensorFlow.js in Node.js…" is @skipnet/backend's to
        // hold back: the backend lines already say what to install for speed.
        expect(`${r.stdout}${r.stderr}`).not.toContain('looks like you are running TensorFlow.js');
      }
      const [a, b, c] = runs.map(({ dir }) => ({
        history: withoutTimes(JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8'))),
        weights: readFileSync(join(dir, 'checkpoints', 'epoch-0001', 'weights.safetensors')),
      }));
      expect(b!.history).toEqual(a!.history);
      expect(b!.weights.equals(a!.weights)).toBe(true);
      // …and the seed is what decides: another one gives another run.
      if (c) expect(c.weights.equals(a!.weights)).toBe(false);
    },
  );

  it('on --resume, the flags given win over the checkpoint and the rest come from it', async () => {
    const dir = join(work, 'resume-flags');
    const first = await run([
      ...tiny,
      '--epochs',
      '1',
      '--lr',
      '0.05',
      '--momentum',
      '0.5',
      '--out',
      dir,
      '--no-progress',
    ]);
    expect(first.code, first.stderr).toBe(0);
    const r = await run([
      ...tiny,
      '--epochs',
      '2',
      '--lr',
      '0.002',
      '--resume',
      '--out',
      dir,
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/settings differ from the checkpoint's.*lr 0\.002 \(checkpoint 0\.05\)/);
    const history = JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as {
      epochs: Array<{ lr: number }>;
    };
    expect(history.epochs.map((e) => e.lr)).toEqual([0.05, 0.002]);
    // --momentum was not given again: the run kept the checkpoint's, not the flag's default of 0.
    const hyper = optimizerHyper(join(dir, 'checkpoints', 'epoch-0002', 'optimizer.safetensors'));
    expect(hyper).toMatchObject({ lr: 0.002, momentum: 0.5 });
  });

  it('says which checkpoint files are damaged when none is left to resume, and how to go on', async () => {
    const dir = join(work, 'damaged');
    cpSync(out, dir, { recursive: true });
    writeFileSync(join(dir, 'checkpoints', 'latest.json'), 'not json');
    for (const name of readdirSync(join(dir, 'checkpoints')).filter((n) => n.startsWith('epoch-'))) {
      writeFileSync(join(dir, 'checkpoints', name, 'state.json'), '{');
    }
    const r = await run([...tiny, '--epochs', '3', '--resume', '--out', dir, '--no-progress']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /^skipnet-train: cannot resume the run in .*damaged: no complete checkpoint\.$/m,
    );
    expect(r.stderr).toMatch(/latest\.json/);
    expect(r.stderr).toMatch(/epoch-0002.*state\.json/);
    expect(r.stderr).toMatch(/with --overwrite instead of --resume/);
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  });

  it('refuses to start a new run into an --out that holds one, and leaves it as it was', async () => {
    const before = snapshot(out);
    const r = await run([...tiny, '--epochs', '1', '--out', out, '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `skipnet-train: --out ${out} holds a run (checkpoints, history.json, history.csv, epochs.csv, plot.svg`,
    );
    expect(r.stderr).toMatch(
      /pass --resume to continue it, --overwrite to replace it, or choose another folder/,
    );
    expect(r.stdout).not.toMatch(/^backend:/m); // refused before anything slow
    expect(snapshot(out)).toEqual(before);
  });

  it('gives each run without --out its own folder, so a second run never touches the first', async () => {
    const cwd = join(work, 'defaults');
    mkdirSync(cwd);
    const first = await run([...tiny, '--epochs', '1', '--no-progress'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    const runs = join(cwd, 'runs');
    const [folder] = readdirSync(runs);
    const before = snapshot(join(runs, folder!));
    const second = await run([...tiny, '--epochs', '1', '--no-progress'], { cwd });
    expect(second.code, second.stderr).toBe(0);
    expect(readdirSync(runs)).toHaveLength(2);
    expect(snapshot(join(runs, folder!))).toEqual(before);
  });

  it('--overwrite puts the earlier run back when the new one fails before its first checkpoint', async () => {
    const dir = join(work, 'overwrite');
    cpSync(out, dir, { recursive: true });
    const before = snapshot(dir);
    // 1e300 is Infinity in float32: the first update makes the weights infinite, the second step's loss NaN, and
    // the run ends without a checkpoint.
    const r = await run([
      ...tiny,
      '--batch-size',
      '16',
      '--lr',
      '1e300',
      '--out',
      dir,
      '--overwrite',
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/loss is NaN/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('--overwrite replaces the run once the new one has a checkpoint', async () => {
    const dir = join(work, 'overwrite');
    const r = await run([
      ...tiny,
      '--epochs',
      '1',
      '--lr',
      '0.02',
      '--out',
      dir,
      '--overwrite',
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
    const history = JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as {
      epochs: Array<{ lr: number }>;
    };
    expect(history.epochs.map((e) => e.lr)).toEqual([0.02]);
  });

  it('falls back to the synthetic set loudly when CIFAR-10 cannot be had', async () => {
    const r = await run([
      ...tiny.filter((a) => a !== 'synthetic' && a !== '--dataset'),
      '--no-download',
      '--data-dir',
      join(work, 'empty'),
      '--epochs',
      '1',
      '--out',
      join(work, 'fallback'),
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'CIFAR-10 could not be had, so this run uses the built-in SYNTHETIC set instead.',
    );
    expect(r.stderr).toMatch(/Why: no CIFAR-10 files in .*empty and --no-download\./);
    expect(r.stderr).toContain('--data-dir');
    expect(r.stderr).toContain('--url');
    expect(r.stderr).not.toMatch(LIBRARY_WORDS);
    expect(r.stdout).toContain('dataset: SYNTHETIC');
  });

  it('saves and exits 130 on Ctrl-C, after the batch in flight', async () => {
    const dir = join(work, 'interrupted');
    const child = spawn(
      process.execPath,
      [cli, ...tiny, '--subset', '256', '--batch-size', '16', '--epochs', '5', '--out', dir],
      {
        cwd: work,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      // Progress lines go to stderr off a terminal; the first epoch line is a safe moment too.
    });
    const code = await new Promise<number | null>((resolve) => {
      const poll = setInterval(() => {
        if (/batch \d+\/\d+/.test(stderr + stdout)) {
          clearInterval(poll);
          child.kill('SIGINT');
        }
      }, 50);
      child.on('exit', (c) => {
        clearInterval(poll);
        resolve(c);
      });
    });
    expect(code, stderr).toBe(130);
    // Inside the epoch (16 batches): the signal got in after the batch in flight, not at the epoch's end.
    expect(stderr).toMatch(
      /training aborted in epoch 1 after batch \d+; saved .*checkpoints\/epoch-0000-examples-\d+\./,
    );
    expect(stderr).toContain(`To continue: skipnet-train --resume --out ${dir}`);
    expect(existsSync(join(dir, 'checkpoints', 'latest.json'))).toBe(true);
  });

  it('resumes that run inside its epoch with another --batch-size: it lines up by examples and says so', async () => {
    const dir = join(work, 'interrupted-rebatched');
    cpSync(join(work, 'interrupted'), dir, { recursive: true });
    const latest = JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8')).checkpoint;
    const trained = Number(/^epoch-0000-examples-(\d+)$/.exec(latest)?.[1]);
    expect(trained, `${latest} is not inside epoch 1`).toBeGreaterThan(0);
    const r = await run([
      '--backend',
      'wasm',
      '--batch-size',
      '24',
      '--epochs',
      '1',
      '--resume',
      '--out',
      dir,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^resume: settings differ from the checkpoint's, yours are used: .*batchSize 24 \(checkpoint 16\)/m,
    );
    const said =
      /^resume: epoch 1 continues after the (\d+) examples the checkpoint trained of it, in batches of another size than the checkpoint's: (\d+) skipped(?:, and the next trains only its last (\d+) of 24)?$/m.exec(
        r.stdout,
      );
    expect(said, r.stdout).not.toBeNull();
    const [, examples, skipped, rest] = said!;
    expect(Number(examples)).toBe(trained);
    // Whole batches of 24 skipped, then the examples of the batch across the position that were trained before.
    expect(Number(skipped) * 24 + (rest === undefined ? 0 : 24 - Number(rest))).toBe(trained);
    // Every image of the epoch trained once: the checkpoint's and the rest, in batches of 24.
    const epochs = JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')).epochs;
    expect(epochs.map((e: { examples: number }) => e.examples)).toEqual([256]);
  });
});

/** A run with a per-batch schedule: 48 images in batches of 16, 3 steps an epoch, 6 in the cycle. */
const oneCycle = [...tiny, '--batch-size', '16', '--epochs', '2', '--schedule', 'onecycle', '--lr', '0.05'];
const straight = join(work, 'onecycle-straight');

function history(dir: string): { epochs: Array<{ lr: number }> } {
  return JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8'));
}

function lastWeights(dir: string): Buffer {
  return readFileSync(join(dir, 'checkpoints', 'epoch-0002', 'weights.safetensors'));
}

/** A copy of the straight run as it was when its first epoch ended: its checkpoint epoch-0001 the latest. */
function stoppedAfterEpoch1(name: string): string {
  const dir = join(work, name);
  cpSync(straight, dir, { recursive: true });
  rmSync(join(dir, 'checkpoints', 'epoch-0002'), { recursive: true });
  writeFileSync(join(dir, 'checkpoints', 'latest.json'), '{"checkpoint": "epoch-0001"}\n');
  return dir;
}

// Issue 16, failure 6: on --resume the flags given win, the rest come from the checkpoint, and the run says what
// differs. Each test resumes its own copy of one stopped run, so they run side by side.
describe.concurrent('--resume of a onecycle run (3 steps an epoch, 2 epochs)', () => {
  beforeAll(async () => {
    const r = await run([...oneCycle, '--out', straight, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([
    [
      'the run’s flags again but --lr',
      'again',
      oneCycle.filter((a, i) => a !== '--lr' && oneCycle[i - 1] !== '--lr'),
    ],
    ['no flag but --resume (and --backend)', 'bare', ['--backend', 'wasm']],
  ])('without --lr follows exactly the rates of the run that never stopped: %s', async (_, name, flags) => {
    const dir = stoppedAfterEpoch1(`onecycle-${name}`);
    const r = await run([...flags, '--resume', '--out', dir, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^epoch 2, /m);
    expect(r.stdout).not.toMatch(/^resume:/m);
    expect(withoutTimes(history(dir))).toEqual(withoutTimes(history(straight)));
    expect(lastWeights(dir).equals(lastWeights(straight))).toBe(true);
  });

  it('with --lr, the cycle peaks at the new rate and the run says so', async () => {
    const dir = stoppedAfterEpoch1('onecycle-lr');
    const r = await run(['--backend', 'wasm', '--lr', '0.1', '--resume', '--out', dir, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^resume: settings differ from the checkpoint's, yours are used: lr 0\.1 \(checkpoint 0\.05\)$/m,
    );
    const [before, after] = history(dir).epochs.map((e) => e.lr);
    expect(before).toBe(history(straight).epochs[0]!.lr);
    // The cycle's last step anneals to peak / divFactor / finalDivFactor: the new peak's, not the checkpoint's.
    expect(after).toBeCloseTo(0.1 / 25 / 1e4, 12);
    expect(history(straight).epochs[1]!.lr).toBeCloseTo(0.05 / 25 / 1e4, 12);
    expect(lastWeights(dir).equals(lastWeights(straight))).toBe(false);
  });

  it('with a --schedule of another kind, the new one takes over where the run is, and the run says so', async () => {
    const dir = stoppedAfterEpoch1('onecycle-cosine');
    const r = await run([
      '--backend',
      'wasm',
      '--schedule',
      'cosine',
      '--resume',
      '--out',
      dir,
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^resume: settings differ .*: schedule cosineAnnealingLR \(checkpoint oneCycleLR\)$/m,
    );
    expect(r.stdout).toMatch(
      /^resume: the schedule is not the checkpoint's: cosineAnnealingLR\(\{ tMax: 2, .*\}\) takes over from oneCycleLR\(\{ totalSteps: 6, .*\}\) at epoch 2, step 4 of the run/m,
    );
    // cosineAnnealingLR at epoch index 1 of 2, from the checkpoint's 0.05: (0.05 · (1 + cos(π/2))) / 2.
    expect(history(dir).epochs[1]!.lr).toBeCloseTo(0.025, 12);
  });
});

// Each of these ends before training (or after a failed download): independent, so they run side by side.
describe.concurrent('skipnet-train refuses bad input, naming it and the fix', () => {
  beforeAll(() => writeFileSync(join(work, 'a-file'), 'keep me'));

  it.each([
    [['--out', ''], /--out is empty; name a folder/],
    [
      ['--out', 'a-file'],
      /--out .*a-file cannot hold the run: a file is in the way.*Choose a folder you can write to/,
    ],
    [['--out', 'a-file/run'], /--out .*a-file\/run cannot hold the run: a file is in the way/],
    [['--resume', '--out', 'nowhere'], /--resume: .*nowhere holds no checkpoint to continue/],
  ])('refuses the unusable %j before training, with exit code 2', async (args, message) => {
    const r = await run([...tiny, '--epochs', '1', ...args, '--no-progress']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).not.toMatch(/^backend:/m);
    expect(readFileSync(join(work, 'a-file'), 'utf8')).toBe('keep me');
  });

  it('refuses a read-only --out before training', async () => {
    const locked = join(work, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const r = await run([...tiny, '--epochs', '1', '--out', join(locked, 'run'), '--no-progress'], {
      unprivileged: true,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /--out .*locked\/run cannot hold the run: it is not writable \(permission denied\)/,
    );
    expect(r.stdout).not.toMatch(/^backend:/m);
  });

  it('refuses an --image-size that cannot fit, with the sizes that can', async () => {
    const r = await run([...tiny, '--image-size', '100000', '--out', join(work, 'huge'), '--no-progress']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /^skipnet-train: --image-size 100000 does not fit in memory: .* wasm32 memory holds at most 4 GiB\. At --batch-size 64 the sides that can fit are 1\.\.\d+; lower --image-size or --batch-size\.$/m,
    );
    expect(existsSync(join(work, 'huge'))).toBe(false);
  });

  it('says a mirror serves another file in the flags of the CLI (--md5, --url)', async () => {
    const server = createServer((_, res) => res.end(Buffer.alloc(1000, 7)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await run([
        ...tiny.filter((a) => a !== 'synthetic' && a !== '--dataset'),
        '--dataset',
        'cifar10',
        '--url',
        `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`,
        '--data-dir',
        join(work, 'mirror'),
        '--out',
        join(work, 'mirror-run'),
        '--no-progress',
      ]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /skipnet-train: checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/cifar-10-binary\.tar\.gz: .*MD5 \w+, expected c32a1d4ab5d03f1284b67883e8d87530/,
      );
      expect(r.stderr).toMatch(/--md5 <hex>/);
      expect(r.stderr).not.toMatch(LIBRARY_WORDS);
    } finally {
      server.close();
    }
  });

  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['--epochs', '-3'], /--epochs/],
    [
      ['--backend', 'tfjs-node'],
      /backend 'tfjs-node' is not available: @tensorflow\/tfjs-node is not installed\n\s+npm install/,
    ],
  ])('rejects %j with exit code 2 and says why', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('wraps the --help description between words only, not at hard breaks mid-sentence', async () => {
    const r = await run(['--help']);
    const description = r.stdout.split('\n\nOptions:')[0]!.split('\n').slice(2);
    description.forEach((line, i) => {
      const next = description[i + 1];
      // A line that stops mid-sentence must be full: the next word would not have fitted in commander's 80 columns.
      if (line && next && !/[.:]$/.test(line))
        expect(line.length + 1 + next.split(' ')[0]!.length, line).toBeGreaterThan(80);
    });
  });

  it('explains every flag in --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--backend',
      '--epochs',
      '--lr',
      '--batch-size',
      '--image-size',
      '--model',
      '--dataset',
      '--data-dir',
      '--out',
      '--resume',
      '--seed',
      '--subset',
      '--overwrite',
      '--url',
      '--md5',
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });
});
