import { describe, expect, it } from 'vitest';
import { oneCycleResumeConflict, type StepSetting } from './one-cycle-resume.ts';

/** As the CLI writes its flags: `--batch-size 16`, `--subset all` for no subset. */
const flag = (setting: StepSetting | 'schedule', value: unknown) =>
  `--${setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${value ?? 'all'}`;
const run = { dataset: 'cifar10', subset: null, batchSize: 16 };

describe('oneCycleResumeConflict', () => {
  it('takes the run’s own step settings, null and a missing subset alike, and settings the run did not record', () => {
    expect(oneCycleResumeConflict(run, { dataset: 'cifar10', batchSize: 16 }, flag)).toBeNull();
    expect(oneCycleResumeConflict(run, { ...run, subset: undefined }, flag)).toBeNull();
    // A checkpoint without a config (a library user's run) has nothing to compare.
    expect(oneCycleResumeConflict({}, { dataset: 'synthetic', subset: 8, batchSize: 4 }, flag)).toBeNull();
  });

  it('names each setting that changes an epoch’s steps, with the run’s value to resume with', () => {
    expect(oneCycleResumeConflict(run, { ...run, batchSize: 24 }, flag)).toBe(
      "--batch-size 24 is not the run's --batch-size 16, and --schedule onecycle is sized in optimizer steps, the " +
        "run's batches so far: with another number of steps an epoch, the cycle would end early or run past its " +
        'end. Resume with --batch-size 16, or with a schedule sized in epochs (--schedule cosine or --schedule step).',
    );
    expect(oneCycleResumeConflict(run, { ...run, subset: 64 }, flag)).toMatch(
      /^--subset 64 is not the run's --subset all, .* Resume with --subset all,/,
    );
    expect(
      oneCycleResumeConflict(
        { ...run, dataset: 'synthetic' },
        { ...run, dataset: 'cifar10', batchSize: 8 },
        flag,
      ),
    ).toMatch(/^--dataset cifar10 --batch-size 8 is not the run's --dataset synthetic --batch-size 16,/);
  });

  it('words it as the caller’s users give settings', () => {
    const field = (setting: StepSetting | 'schedule', value: unknown) =>
      `${setting === 'batchSize' ? 'batch-size' : setting} ${value ?? '(none)'}`;
    expect(oneCycleResumeConflict(run, { ...run, subset: 32 }, field)).toMatch(
      /^subset 32 is not the run's subset \(none\), and schedule onecycle .* \(schedule cosine or schedule step\)\.$/,
    );
  });
});
