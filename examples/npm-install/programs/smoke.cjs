// Runs in an empty npm project that installed the packed tarballs: the CommonJS way in.
const modules = {
  cifar10: require('@skipnet/cifar10'),
  nn: require('@skipnet/nn'),
  residual: require('@skipnet/residual'),
  resnet: require('@skipnet/resnet'),
  trainer: require('@skipnet/trainer'),
  wasmKernels: require('@skipnet/wasm-kernels'),
};
console.log(
  JSON.stringify(Object.fromEntries(Object.entries(modules).map(([k, m]) => [k, Object.keys(m).sort()]))),
);
