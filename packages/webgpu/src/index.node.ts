// Node: the whole package, with setupWebGPU on Dawn in place of the browser's navigator.gpu.
export * from './index.ts';
export { type SetupWebGPUNodeOptions, setupWebGPU, WEBGPU_INSTALL_HINT } from './setup.node.ts';
