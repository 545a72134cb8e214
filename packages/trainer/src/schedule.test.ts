import { describe, expect, it } from 'vitest';
import { cosineAnnealingLR, oneCycleLR, stepLR } from './schedule.ts';

// Rates read from `optimizer.param_groups[0]` before each `scheduler.step()` with PyTorch 1.13 (Debian
// python3-torch), scripts/torch_reference.py: SGD(lr=0.1, momentum=0.9) under each scheduler.
const expectSeq = (actual: number[], expected: number[]) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => {
    expect(v, `t=${i}`).toBeCloseTo(expected[i]!, 12);
  });
};
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('LR schedules follow torch.optim.lr_scheduler', () => {
  it('StepLR(step_size=3, gamma=0.5)', () => {
    const s = stepLR({ stepSize: 3, gamma: 0.5 });
    expect(s.interval).toBe('epoch');
    expectSeq(
      range(8).map((t) => s.lr(t, 0.1)),
      [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025],
    );
  });

  it('CosineAnnealingLR(T_max=5, eta_min=0.001)', () => {
    const s = cosineAnnealingLR({ tMax: 5, etaMin: 0.001 });
    expectSeq(
      range(6).map((t) => s.lr(t, 0.1)),
      [0.1, 0.0905463412215599, 0.06579634122155989, 0.035203658778440096, 0.010453658778440105, 0.001],
    );
  });

  it('OneCycleLR(max_lr=0.1, total_steps=10): rate and momentum', () => {
    const s = oneCycleLR({ maxLr: 0.1, totalSteps: 10 });
    expect(s.interval).toBe('step');
    expectSeq(
      range(10).map((t) => s.lr(t, 0.5)), // the optimizer's rate is ignored, as in PyTorch
      [
        0.004, 0.052, 0.1, 0.09504846320134738, 0.0811745653949763, 0.06112620219362893, 0.03887419780637107,
        0.0188258346050237, 0.004951936798652629, 4e-7,
      ],
    );
    expectSeq(
      range(10).map((t) => s.momentum!(t)),
      [
        0.95, 0.9, 0.85, 0.854951556604879, 0.8688255099070633, 0.8888739533021842, 0.9111260466978157,
        0.9311744900929366, 0.945048443395121, 0.95,
      ],
    );
  });

  it('OneCycleLR without maxLr peaks at the optimizer’s rate: PyTorch’s max_lr=0.1 sequence from lr 0.1', () => {
    const s = oneCycleLR({ totalSteps: 10 });
    expectSeq(
      range(10).map((t) => s.lr(t, 0.1)),
      [
        0.004, 0.052, 0.1, 0.09504846320134738, 0.0811745653949763, 0.06112620219362893, 0.03887419780637107,
        0.0188258346050237, 0.004951936798652629, 4e-7,
      ],
    );
    expect(s.lr(2, 0.3)).toBeCloseTo(0.3, 15); // another optimizer rate, another peak
    expect(s.config).not.toHaveProperty('maxLr');
  });

  it('OneCycleLR three-phase, linear (epochs × stepsPerEpoch)', () => {
    const s = oneCycleLR({
      maxLr: 0.1,
      epochs: 5,
      stepsPerEpoch: 2,
      annealStrategy: 'linear',
      threePhase: true,
    });
    expectSeq(
      range(10).map((t) => s.lr(t, 0.5)), // the optimizer's rate is ignored, as in PyTorch
      [0.004, 0.052, 0.1, 0.052, 0.004, 0.00320008, 0.00240016, 0.00160024, 0.00080032, 4e-7],
    );
    expectSeq(
      range(10).map((t) => s.momentum!(t)),
      [0.95, 0.9, 0.85, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95],
    );
  });

  it('describe themselves as plain data, with their defaults, for checkpoints', () => {
    expect(stepLR({ stepSize: 3 }).config).toEqual({ name: 'stepLR', stepSize: 3, gamma: 0.1 });
    expect(cosineAnnealingLR({ tMax: 5 }).config).toEqual({
      name: 'cosineAnnealingLR',
      tMax: 5,
      etaMin: 0,
      interval: 'epoch',
    });
    expect(oneCycleLR({ maxLr: 0.1, epochs: 2, stepsPerEpoch: 4 }).config).toEqual({
      name: 'oneCycleLR',
      maxLr: 0.1,
      totalSteps: 8,
      pctStart: 0.3,
      annealStrategy: 'cos',
      divFactor: 25,
      finalDivFactor: 1e4,
      threePhase: false,
      cycleMomentum: true,
      baseMomentum: 0.85,
      maxMomentum: 0.95,
    });
  });

  it('OneCycleLR past its total steps is an error that names the fix, as in PyTorch', () => {
    const s = oneCycleLR({ maxLr: 0.1, totalSteps: 4, cycleMomentum: false });
    expect(s.momentum).toBeUndefined();
    expect(() => s.lr(5, 0.1)).toThrow(/past totalSteps 4/);
  });
});
