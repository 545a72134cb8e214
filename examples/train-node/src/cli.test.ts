import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// The command as a user runs it: the built bin (turbo builds it before this test), a tiny synthetic run on wasm.
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'skipnet-cli-'));
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

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (pnpm build)`);
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
      cwd: work,
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

describe('skipnet-train', () => {
  it('trains one epoch and writes checkpoint, history and plot', async () => {
    const r = await run([...tiny, '--epochs', '1', '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm — CPU \(WebAssembly/m);
    expect(r.stdout).toMatch(/^dataset: SYNTHETIC \(built in, not CIFAR-10\), 48 train/m);
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

  it('resumes the same run for a second epoch', async () => {
    const r = await run([...tiny, '--epochs', '2', '--out', out, '--resume', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^epoch 1,/m);
    expect(r.stdout).toMatch(/^epoch 2, loss /m);
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as { epochs: unknown[] };
    expect(history.epochs).toHaveLength(2);
  });

  it('trains on webgpu when asked by name (here the Mesa software adapter; a GPU elsewhere)', async () => {
    const dir = join(work, 'webgpu');
    const r = await run([
      ...tiny.map((a) => (a === 'wasm' ? 'webgpu' : a)),
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
    expect(r.stderr).toContain('--data-dir');
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
    expect(stderr).toMatch(/training aborted in epoch 1 after batch \d+; saved .*checkpoints/);
    expect(existsSync(join(dir, 'checkpoints', 'latest.json'))).toBe(true);
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
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });
});
