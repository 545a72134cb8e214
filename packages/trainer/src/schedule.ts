/**
 * A learning-rate schedule as a pure function of a counter, so a resumed run gets the same rates without any
 * scheduler state: `lr(t, initialLr)` is the rate PyTorch's scheduler gives after `t` calls of
 * `scheduler.step()`, where `initialLr` is the optimizer's own rate before any schedule (PyTorch's
 * `initial_lr`): the base rate has one source, the optimizer.
 * `interval: 'epoch'` counts finished epochs (t = epoch index, from 0); `'step'` counts optimizer steps.
 */
export interface LRSchedule {
  readonly interval: 'epoch' | 'step';
  /**
   * What the schedule is, as plain data (`{ name: 'stepLR', stepSize: 30, gamma: 0.1 }`): checkpoints keep it, so
   * a resumed run can say when its schedule is not the one the run had (PyTorch keeps a scheduler's settings in
   * its `state_dict()` for the same reason). A schedule of your own names itself and its settings here.
   */
  readonly config: ScheduleConfig;
  lr(t: number, initialLr: number): number;
  /** The momentum (SGD) or beta1 (Adam) a one-cycle schedule sets alongside the rate. */
  momentum?(t: number): number;
}

/** A schedule's name and settings, as JSON can hold them. */
export interface ScheduleConfig {
  readonly name: string;
  readonly [setting: string]: string | number | boolean;
}

/** Options of {@link stepLR}, as `torch.optim.lr_scheduler.StepLR` names them. */
export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Factor of each decay. Default 0.1. */
  gamma?: number;
}

/** `StepLR`: `initialLr · gamma^⌊epoch / stepSize⌋`, stepped once per epoch. */
export function stepLR({ stepSize, gamma = 0.1 }: StepLROptions): LRSchedule {
  if (!(stepSize >= 1)) throw new Error(`stepLR: stepSize must be >= 1, got ${stepSize}`);
  return {
    interval: 'epoch',
    config: { name: 'stepLR', stepSize, gamma },
    lr: (t, lr) => lr * gamma ** Math.floor(t / stepSize),
  };
}

/** Options of {@link cosineAnnealingLR}, as `torch.optim.lr_scheduler.CosineAnnealingLR` names them. */
export interface CosineAnnealingLROptions {
  /** Half-period in epochs (usually the number of epochs). */
  tMax: number;
  /** Lowest rate. Default 0. */
  etaMin?: number;
  /** Step it per optimizer step instead of per epoch (then `tMax` counts steps). Default 'epoch'. */
  interval?: 'epoch' | 'step';
}

/** `CosineAnnealingLR` (its closed form): `etaMin + (initialLr − etaMin)·(1 + cos(π·t/tMax))/2`. */
export function cosineAnnealingLR({
  tMax,
  etaMin = 0,
  interval = 'epoch',
}: CosineAnnealingLROptions): LRSchedule {
  if (!(tMax > 0)) throw new Error(`cosineAnnealingLR: tMax must be > 0, got ${tMax}`);
  return {
    interval,
    config: { name: 'cosineAnnealingLR', tMax, etaMin, interval },
    lr: (t, lr) => etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2,
  };
}

/** Options of {@link oneCycleLR}, as `torch.optim.lr_scheduler.OneCycleLR` names them. */
export interface OneCycleLROptions {
  /**
   * Peak learning rate (PyTorch's `max_lr`, when you want its behaviour: the optimizer's rate is then ignored).
   * Default: the optimizer's rate (`initialLr`), so the peak has one source, the optimizer, and a resumed run's
   * optimizer decides it.
   */
  maxLr?: number;
  /** Total optimizer steps (or give `epochs` and `stepsPerEpoch`). */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the rate. Default 0.3. */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** Initial rate is the peak `/ divFactor`. Default 25. */
  divFactor?: number;
  /** Final rate is the initial rate `/ finalDivFactor`. Default 1e4. */
  finalDivFactor?: number;
  /** Fast.ai's three phases (up, back down to the initial rate, then to the final rate). Default false. */
  threePhase?: boolean;
  /** Cycle momentum (SGD) or beta1 (Adam) inversely to the rate. Default true, as in PyTorch. */
  cycleMomentum?: boolean;
  /** Default 0.85. */
  baseMomentum?: number;
  /** Default 0.95. */
  maxMomentum?: number;
}

/**
 * `OneCycleLR`, stepped after every optimizer step; `t` beyond the last step is an error, as in PyTorch. The
 * rate climbs from `peak / divFactor` to the peak and anneals to `peak / divFactor / finalDivFactor`, where the
 * peak is `maxLr` or, without it, the optimizer's own rate.
 */
export function oneCycleLR(options: OneCycleLROptions): LRSchedule {
  const {
    maxLr,
    pctStart = 0.3,
    annealStrategy = 'cos',
    divFactor = 25,
    finalDivFactor = 1e4,
    threePhase = false,
    cycleMomentum = true,
    baseMomentum = 0.85,
    maxMomentum = 0.95,
  } = options;
  const totalSteps =
    options.totalSteps ??
    (options.epochs !== undefined && options.stepsPerEpoch !== undefined
      ? options.epochs * options.stepsPerEpoch
      : undefined);
  if (totalSteps === undefined || !(totalSteps > 0)) {
    throw new Error('oneCycleLR: give totalSteps > 0, or epochs and stepsPerEpoch');
  }
  if (!(pctStart >= 0 && pctStart <= 1))
    throw new Error(`oneCycleLR: pctStart must be in [0, 1], got ${pctStart}`);
  if (maxLr !== undefined && !(maxLr > 0)) throw new Error(`oneCycleLR: maxLr must be > 0, got ${maxLr}`);
  type Span = [number, number];
  const ends = threePhase
    ? [pctStart * totalSteps - 1, 2 * pctStart * totalSteps - 2, totalSteps - 1]
    : [pctStart * totalSteps - 1, totalSteps - 1];
  const rates = (peak: number): Span[] => {
    const initial = peak / divFactor;
    const min = initial / finalDivFactor;
    return threePhase
      ? [
          [initial, peak],
          [peak, initial],
          [initial, min],
        ]
      : [
          [initial, peak],
          [peak, min],
        ];
  };
  const momenta: Span[] = threePhase
    ? [
        [maxMomentum, baseMomentum],
        [baseMomentum, maxMomentum],
        [maxMomentum, maxMomentum],
      ]
    : [
        [maxMomentum, baseMomentum],
        [baseMomentum, maxMomentum],
      ];
  const anneal =
    annealStrategy === 'cos'
      ? (a: number, b: number, pct: number) => b + ((a - b) / 2) * (Math.cos(Math.PI * pct) + 1)
      : (a: number, b: number, pct: number) => (b - a) * pct + a;
  /** The value at step `t` of the phase it falls in, each phase going from `spans[i][0]` to `spans[i][1]`. */
  const at = (t: number, spans: Span[]): number => {
    if (t > totalSteps) {
      throw new Error(`oneCycleLR: step ${t} is past totalSteps ${totalSteps}; raise totalSteps or epochs`);
    }
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      const end = ends[i]!;
      if (t <= end || i === ends.length - 1) {
        const [a, b] = spans[i]!;
        return anneal(a, b, (t - start) / (end - start));
      }
      start = end;
    }
    throw new Error('unreachable');
  };
  const schedule: LRSchedule = {
    interval: 'step',
    config: {
      name: 'oneCycleLR',
      ...(maxLr === undefined ? {} : { maxLr }),
      totalSteps,
      pctStart,
      annealStrategy,
      divFactor,
      finalDivFactor,
      threePhase,
      cycleMomentum,
      baseMomentum,
      maxMomentum,
    },
    lr: (t, initialLr) => at(t, rates(maxLr ?? initialLr)),
  };
  return cycleMomentum ? { ...schedule, momentum: (t) => at(t, momenta) } : schedule;
}
