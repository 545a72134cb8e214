import { Writable } from 'node:stream';
import type { ProgressMode as CifarProgressMode } from '@skipnet/cifar10';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { progressCallbacks as coreProgressCallbacks, type ProgressMode, progressLines } from './progress.ts';
import { progressCallbacks } from './progress-bar.ts';

/** A stream that says it is a terminal and records what is drawn on it. */
function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream & Record<string, unknown>;
  Object.assign(w, {
    isTTY: true,
    columns: 160,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
    clearScreenDown: () => true,
  });
  return { stream: w, text: () => out };
}

let reads = 0;
const batch = (b: number, batches: number | null = 4) => ({
  epoch: 0,
  batch: b,
  batches,
  globalStep: b,
  examples: 8 * b,
  lr: 0.1,
  metrics: async () => {
    reads++;
    return { loss: 1, trainLoss: 1.25, trainAcc: 0.5, examples: 8 * b, examplesPerSec: 123.4 };
  },
});

describe('progressCallbacks', () => {
  it("'auto' draws a bar with batch, loss, accuracy, img/s and ETA on a terminal", async () => {
    const term = fakeTerminal();
    const lines: string[] = [];
    const cb = progressCallbacks('auto', (l) => lines.push(l), term.stream);
    await cb.onEpochStart?.({ epoch: 0, epochs: 3, batches: 4, skip: 0 });
    for (let b = 1; b <= 4; b++) await cb.onBatchEnd?.(batch(b));
    await cb.onEvaluateStart?.({ epoch: 0 });
    expect(term.text()).toMatch(/epoch 1\/3 .* 4\/4 \| loss 1\.250 \| acc 0\.500 \| 123\.4 img\/s \| ETA /);
    expect(lines).toEqual([]);
  });

  it("'auto' writes plain lines when the stream is not a terminal, and 'none' nothing", async () => {
    const notTty = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
    const lines: string[] = [];
    const cb = progressCallbacks('auto', (l) => lines.push(l), notTty);
    await cb.onEpochStart?.({ epoch: 0, epochs: 3, batches: 4, skip: 0 });
    await cb.onBatchEnd?.(batch(4));
    expect(lines).toEqual(['  epoch 1/3, batch 4/4, loss 1.250, train acc 0.500, 123.4 img/s']);
    expect(progressCallbacks('none', (l) => lines.push(l))).toEqual({});
  });

  it("'lines' without a known length (a source's first epoch) writes after batches 1, 2, 4, 8, … and reads only then", async () => {
    const lines: string[] = [];
    const cb = progressLines((l) => lines.push(l));
    await cb.onEpochStart?.({ epoch: 0, epochs: 2, batches: null, skip: 0 });
    reads = 0;
    for (let b = 1; b <= 20; b++) await cb.onBatchEnd?.(batch(b, null));
    expect(lines.map((l) => l.match(/batch (\d+),/)?.[1])).toEqual(['1', '2', '4', '8', '16']);
    expect(lines[0]).toBe('  epoch 1/2, batch 1, loss 1.250, train acc 0.500, 123.4 img/s');
    expect(reads).toBe(5);
  });

  it('speaks one vocabulary with @skipnet/cifar10, and refuses another word in Node and in the core', () => {
    expectTypeOf<ProgressMode>().toEqualTypeOf<CifarProgressMode>();
    const message = `progress must be 'auto', 'bar', 'lines', 'none', got "log"`;
    expect(() => progressCallbacks('log' as ProgressMode, () => {})).toThrow(message);
    expect(() => coreProgressCallbacks('log' as ProgressMode, () => {})).toThrow(message);
  });
});
