import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutDirError, prepareOutDir } from './out-dir.ts';

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'skipnet-out-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

/** A finished run as the trainer leaves it: a checkpoint, its pointer, the reports. */
function fakeRun(dir: string, tag: string): void {
  mkdirSync(join(dir, 'checkpoints', 'epoch-0001'), { recursive: true });
  writeFileSync(join(dir, 'checkpoints', 'epoch-0001', 'weights.safetensors'), tag);
  writeFileSync(join(dir, 'checkpoints', 'latest.json'), '{"checkpoint":"epoch-0001"}\n');
  writeFileSync(join(dir, 'history.json'), tag);
}

const request = (extra: Partial<Parameters<typeof prepareOutDir>[0]> = {}) => ({
  out: 'run',
  resume: false,
  overwrite: false,
  cwd,
  ...extra,
});

describe('prepareOutDir', () => {
  it('gives every run without --out a new folder under runs/, even two in the same second', async () => {
    const now = new Date(2026, 0, 2, 3, 4, 5);
    const a = await prepareOutDir(request({ out: undefined, now }));
    const b = await prepareOutDir(request({ out: undefined, now }));
    expect(a.path).toBe(join(cwd, 'runs', '2026-01-02_03-04-05'));
    expect(b.path).toBe(join(cwd, 'runs', '2026-01-02_03-04-05-2'));
  });

  it('refuses a folder that holds a run, naming what is there and the three ways on', async () => {
    fakeRun(join(cwd, 'run'), 'first');
    const error = await prepareOutDir(request()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(OutDirError);
    expect((error as Error).message).toMatch(
      /--out .*run holds a run \(checkpoints, history\.json\); pass --resume to continue it, --overwrite to replace it, or choose another folder/,
    );
    expect(readFileSync(join(cwd, 'run', 'history.json'), 'utf8')).toBe('first');
  });

  it('--overwrite keeps the earlier run aside until the new run has a checkpoint', async () => {
    const dir = join(cwd, 'run');
    fakeRun(dir, 'first');
    const out = await prepareOutDir(request({ overwrite: true }));
    expect(existsSync(join(dir, 'history.json'))).toBe(false);
    const aside = readdirSync(dir).filter((n) => n.startsWith('.overwritten-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!, 'history.json'), 'utf8')).toBe('first');
    fakeRun(dir, 'second'); // the new run's first checkpoint
    await out.committed();
    await out.release();
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'history.json']);
    expect(readFileSync(join(dir, 'history.json'), 'utf8')).toBe('second');
  });

  it('--overwrite puts the earlier run back when the new one ends before its first checkpoint', async () => {
    const dir = join(cwd, 'run');
    fakeRun(dir, 'first');
    const out = await prepareOutDir(request({ overwrite: true }));
    mkdirSync(join(dir, 'checkpoints')); // what a run that failed in epoch 1 leaves
    await out.release();
    expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'history.json']);
    expect(readFileSync(join(dir, 'checkpoints', 'epoch-0001', 'weights.safetensors'), 'utf8')).toBe('first');
  });

  it('--resume continues the given run, or without --out the one under runs/ saved last', async () => {
    fakeRun(join(cwd, 'runs', 'older'), 'older');
    fakeRun(join(cwd, 'runs', 'newer'), 'newer');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(cwd, 'runs', 'older', 'checkpoints', 'latest.json'), past, past);
    expect((await prepareOutDir(request({ out: undefined, resume: true }))).path).toBe(
      join(cwd, 'runs', 'newer'),
    );
    expect((await prepareOutDir(request({ out: 'runs/older', resume: true }))).path).toBe(
      join(cwd, 'runs', 'older'),
    );
  });

  it('--resume where there is nothing to continue is an error, not a fresh run', async () => {
    await expect(prepareOutDir(request({ resume: true }))).rejects.toThrow(
      /--resume: .*run holds no checkpoint to continue.*Drop --resume/,
    );
    await expect(prepareOutDir(request({ out: undefined, resume: true }))).rejects.toThrow(
      /--resume: no run under .*runs to continue/,
    );
  });

  it.each([
    [{ out: '' }, /--out is empty/],
    [{ resume: true, overwrite: true }, /pass one of them/],
  ])('rejects %j', async (extra, message) => {
    await expect(prepareOutDir(request(extra))).rejects.toThrow(message);
  });

  it('refuses an --out that is a file, or lies under one, and creates nothing', async () => {
    writeFileSync(join(cwd, 'file'), '');
    for (const out of ['file', 'file/run']) {
      await expect(prepareOutDir(request({ out }))).rejects.toThrow(
        /--out .*file(\/run)? cannot hold the run: a file is in the way.*--out <dir>/,
      );
    }
    expect(readdirSync(cwd)).toEqual(['file']);
  });
});
