// Runs in an empty npm project that installed the packed tarballs: the ESM way in.
import * as cifar10 from '@skipnet/cifar10';
import * as nn from '@skipnet/nn';
import * as residual from '@skipnet/residual';
import * as resnet from '@skipnet/resnet';
import * as trainer from '@skipnet/trainer';
import * as wasmKernels from '@skipnet/wasm-kernels';

const modules = { cifar10, nn, residual, resnet, trainer, wasmKernels };
console.log(
  JSON.stringify(Object.fromEntries(Object.entries(modules).map(([k, m]) => [k, Object.keys(m).sort()]))),
);
