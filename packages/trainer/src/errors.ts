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
