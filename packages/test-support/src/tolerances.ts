// The tolerances skipnet holds itself to against PyTorch, as shared/fixtures/README.md states them. They live
// here, beside the tests, and never in the code under test: a test that read its tolerance from the code it
// checks would pass whatever that code claimed.
import type { ParityEntry } from './parity.ts';

/** Relative L2 error per tensor ({@link relativeL2Error}): logits and loss 1e-4; gradients and states 1e-3. */
export const PYTORCH_TOLERANCES = { forward: 1e-4, gradient: 1e-3 } as const;

/** The tolerance of one compared tensor of a parity replay: a step counter must be exact. */
export function parityTolerance(entry: Pick<ParityEntry, 'check' | 'name'>): number {
  if (entry.name.endsWith('num_batches_tracked')) return 0;
  switch (entry.check) {
    case 'logits (eval)':
    case 'logits (train)':
    case 'loss':
      return PYTORCH_TOLERANCES.forward;
    default:
      return PYTORCH_TOLERANCES.gradient;
  }
}
