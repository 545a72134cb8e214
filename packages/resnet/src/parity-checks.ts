// The parity checks, shared by the cpu and wasm tests: @skipnet/test-support's replay of the PyTorch fixtures,
// asserted tensor by tensor at the tolerances of shared/fixtures/README.md (test-support's, not this package's).
import {
  fixturePath,
  formatParity,
  type ParityCheck,
  type ParityReport,
  parityTolerance,
  replaySeedFixture,
  summarizeParity,
} from '@skipnet/test-support';
import { expect } from 'vitest';
import { seedResNet, type Widths } from './resnet.ts';

function names(report: ParityReport, check: ParityCheck): string[] {
  return report.entries
    .filter((e) => e.check === check)
    .map((e) => e.name)
    .sort();
}

async function replay(fixture: string, widths?: Widths): Promise<ParityReport> {
  const model = seedResNet(widths ? { widths } : {});
  try {
    return await replaySeedFixture(fixturePath(fixture), model);
  } finally {
    model.dispose();
  }
}

function expectWithinTolerances(label: string, report: ParityReport): void {
  console.log(`${label}:\n${formatParity(summarizeParity(report.entries)).join('\n')}`);
  for (const e of report.entries) {
    expect(e.error, `${e.name} relative error`).toBeLessThanOrEqual(parityTolerance(e));
  }
  expect(names(report, 'logits (eval)')).toEqual(['logits.eval']);
  expect(names(report, 'logits (train)')).toEqual(['logits.train']);
  expect(names(report, 'loss')).toEqual(['loss']);
}

/** The narrow fixture: logits, loss, every gradient, the state after one SGD step, three losses. */
export async function checkNarrowParity(label = 'narrow'): Promise<void> {
  const report = await replay('seed-resnet-narrow', [8, 16, 32, 64]);
  expectWithinTolerances(label, report);
  expect(names(report, 'gradients')).toEqual(report.parameters.map((n) => `grad.${n}`).sort());
  expect(names(report, 'state after one SGD step')).toEqual(report.stateKeys.map((k) => `after.${k}`).sort());
  expect(names(report, 'losses of 3 SGD steps')).toEqual(['losses.3steps']);
}

/** The full-width fixture (11M parameters): logits, loss and the four gradients it has. */
export async function checkFullParity(label = 'full'): Promise<void> {
  const report = await replay('seed-resnet-full');
  expectWithinTolerances(label, report);
  expect(names(report, 'gradients')).toHaveLength(4);
}
