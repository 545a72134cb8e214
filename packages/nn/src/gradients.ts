import * as tf from '@tensorflow/tfjs-core';
import { tfjsCoreGradConfigs } from './gradient-configs.ts';
import { checkTrainingBackend } from './training-backend.ts';

/**
 * tfjs-core's Conv2D gradient, first checking that the backend can train a convolution (wasm without
 * @skipnet/wasm-kernels fails with a message that says what to import; cpu's slow kernel gets a warning).
 */
function withBackendCheck(config: tf.GradConfig): tf.GradConfig {
  if (config.kernelName !== tf.Conv2D) return config;
  return {
    ...config,
    gradFunc: (dy, saved, attrs) => {
      checkTrainingBackend();
      return config.gradFunc(dy, saved, attrs);
    },
  };
}

/**
 * Registers tfjs-core's gradient functions (which `@tensorflow/tfjs-core` alone leaves out) so
 * that `tf.grad` / `tf.variableGrads` work. Idempotent, and it never replaces a gradient that is
 * already registered (by the `@tensorflow/tfjs` union package, another copy of this one, or you).
 * The configs are bundled into this package's build; tfjs keeps its registries in a process-wide
 * global, so they reach whichever tfjs-core copy the application uses.
 */
export function registerGradients(): void {
  for (const config of tfjsCoreGradConfigs) {
    if (tf.getGradient(config.kernelName) === undefined) {
      tf.registerGradient(withBackendCheck(config));
    }
  }
}
