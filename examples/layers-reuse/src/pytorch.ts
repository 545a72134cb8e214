import { writeSafetensors } from '@skipnet/nn';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { residualBlocks } from './model.ts';

/**
 * The model's residual blocks as one PyTorch state dict, keys `<layer name>.<PyTorch name>` (`res2.conv3.bias`,
 * conv weights OIHW), written as safetensors with `num_batches_tracked` as int64, as PyTorch keeps it.
 */
export function residualBlocksSafetensors(model: tfl.LayersModel): Uint8Array {
  const tensors: Record<string, tf.Tensor> = {};
  const dtypes: Record<string, 'I64'> = {};
  for (const block of residualBlocks(model)) {
    for (const [name, tensor] of Object.entries(block.stateDict())) {
      const key = `${block.name}.${name}`;
      tensors[key] = tensor;
      if (name.endsWith('num_batches_tracked')) dtypes[key] = 'I64';
    }
  }
  try {
    return writeSafetensors(tensors, { dtypes });
  } finally {
    for (const tensor of Object.values(tensors)) tensor.dispose();
  }
}
