/** The run was aborted through `signal`; the state after the last finished batch is saved in `checkpoint`. */
export class TrainingAbortedError extends Error {
  constructor(
    readonly epoch: number,
    readonly batch: number,
    readonly checkpoint: string | null,
  ) {
    super(
      `training aborted in epoch ${epoch} after batch ${batch}` +
        (checkpoint ? `; saved ${checkpoint}, continue with resume` : '; nothing saved (no store or outDir)'),
    );
    this.name = 'TrainingAbortedError';
  }
}

/** Where in a run a step happened: 1-based epoch and batch, and the step's number in the whole run. */
export interface StepPosition {
  epoch: number;
  batch: number;
  globalStep: number;
}

/** The loss became NaN or infinite; that step was not applied, and the last good checkpoint is kept. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly loss: number,
    /** The first bad step; null from a bare `trainStep`. */
    readonly position: StepPosition | null = null,
    readonly checkpoint: string | null = null,
  ) {
    const where = position
      ? ` in epoch ${position.epoch} at batch ${position.batch} (step ${position.globalStep} of the run)`
      : '';
    super(
      `loss is ${loss}${where}; the update was not applied. ` +
        (checkpoint ? `The last good checkpoint is ${checkpoint}. ` : '') +
        'Lower the learning rate, or check the inputs for NaN.',
    );
    this.name = 'NonFiniteLossError';
  }
}

/**
 * A run resumed inside an epoch met data that is not the run's: it yields fewer examples in that epoch than the
 * checkpoint had already trained of it, or another number an epoch than the run's epochs had. The position inside
 * an epoch is a count of examples in the data's order, so with other data it would skip or repeat other images.
 * It is thrown as soon as it is known: more examples than the run's epochs had, at the first batch past them.
 */
export class ResumeDataError extends Error {
  constructor(
    /** The epoch the checkpoint is inside, 1-based. */
    readonly epoch: number,
    /** Examples of that epoch the checkpoint had trained. */
    readonly trained: number,
    /** Examples the data yielded in that epoch (when more than `runExamples`: as far as it was read). */
    readonly examples: number,
    /** Examples an epoch of the run had (its last finished epoch), or null when it finished none. */
    readonly runExamples: number | null,
    /** The checkpoint the run resumed from. */
    readonly checkpoint: string | null,
  ) {
    const yields =
      examples < trained
        ? `only ${examples}`
        : runExamples !== null && examples > runExamples
          ? `more than ${runExamples}`
          : `${examples}`;
    const run = examples >= trained && runExamples !== null ? `, the run's epochs had ${runExamples}` : '';
    super(
      `resume: ${checkpoint ?? 'the checkpoint'} is inside epoch ${epoch}, after ${trained} of its examples, but ` +
        `the training data yields ${yields} examples in epoch ${epoch}${run}: it is not the data the run was ` +
        `trained on, so its first ${trained} would be other images. Resume with the data the run was trained on ` +
        'to finish the epoch, and change the data at an epoch’s end. ' +
        (examples <= trained
          ? 'Nothing was trained.'
          : 'Nothing was saved (the model in memory has trained on some of these images; the checkpoint is intact).'),
    );
    this.name = 'ResumeDataError';
  }
}
