import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath, fixturesDir } from './fixtures.node.ts';
import { PYTORCH_TOLERANCES, parityTolerance } from './tolerances.ts';

describe('the tolerances against PyTorch', () => {
  it('are the ones shared/fixtures/README.md states', () => {
    const readme = readFileSync(join(fixturesDir(), 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(
      `logits and loss ≤ ${PYTORCH_TOLERANCES.forward.toExponential()} relative error`,
    );
    expect(readme).toContain(
      `gradients and post-step state ≤ ${PYTORCH_TOLERANCES.gradient.toExponential()}`,
    );
  });

  it('hold each kind of parity check to its own, and a step counter to 0', () => {
    expect(parityTolerance({ check: 'logits (eval)', name: 'logits.eval' })).toBe(1e-4);
    expect(parityTolerance({ check: 'loss', name: 'loss' })).toBe(1e-4);
    expect(parityTolerance({ check: 'gradients', name: 'grad.block1.0.weight' })).toBe(1e-3);
    expect(parityTolerance({ check: 'losses of 3 SGD steps', name: 'losses.3steps' })).toBe(1e-3);
    expect(
      parityTolerance({ check: 'state after one SGD step', name: 'after.block1.1.num_batches_tracked' }),
    ).toBe(0);
  });

  it('a missing fixture is an error that says where it was looked for', () => {
    expect(() => fixturePath('no-such-fixture')).toThrow(
      `PyTorch fixture ${join(fixturesDir(), 'no-such-fixture')} is missing`,
    );
  });
});
