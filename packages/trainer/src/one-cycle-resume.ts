/**
 * The settings of a run's `config` that set how many optimizer steps an epoch has, under the names the CLI and the
 * page record them by: the data set, the subset of it (null: all of it) and the batch size.
 */
export const STEP_SETTINGS = ['dataset', 'subset', 'batchSize'] as const;

export type StepSetting = (typeof STEP_SETTINGS)[number];

/**
 * Why a run resumed under a one-cycle schedule cannot take `now`'s step settings, or null when it can (the same
 * values, or none recorded). A one-cycle schedule is sized in optimizer steps, and the run's steps so far were
 * batches of the checkpoint's size over its data: with another data set, subset or batch size an epoch has another
 * number of steps, and the cycle would end early or run past its end. Call it when the resumed run's schedule is
 * one-cycle; a schedule sized in epochs (cosine, step) takes any.
 *
 * `run` holds the checkpoint's values (its `config`; a setting it lacks is not compared), `now` this run's.
 * `write(setting, value)` writes one as the caller's users give it, the CLI `--batch-size 16`, a form
 * `batch-size 16`; it is also asked for `schedule`. The message names each setting that differs, and the run's
 * values to resume with.
 */
export function oneCycleResumeConflict(
  run: Readonly<Partial<Record<StepSetting, unknown>>>,
  now: Readonly<Partial<Record<StepSetting, unknown>>>,
  write: (setting: StepSetting | 'schedule', value: unknown) => string,
): string | null {
  // null and undefined alike: the setting's default (no subset is all of the data).
  const changed = STEP_SETTINGS.filter(
    (key) => run[key] !== undefined && String(now[key] ?? null) !== String(run[key] ?? null),
  );
  if (changed.length === 0) return null;
  const yours = changed.map((key) => write(key, now[key] ?? null)).join(' ');
  const runs = changed.map((key) => write(key, run[key] ?? null)).join(' ');
  return (
    `${yours} is not the run's ${runs}, and ${write('schedule', 'onecycle')} is sized in optimizer steps, the ` +
    "run's batches so far: with another number of steps an epoch, the cycle would end early or run past its end. " +
    `Resume with ${runs}, or with a schedule sized in epochs (${write('schedule', 'cosine')} or ` +
    `${write('schedule', 'step')}).`
  );
}
