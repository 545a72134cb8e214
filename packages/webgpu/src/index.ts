export {
  type SetupWebGPUOptions,
  setupWebGPU,
  WEBGPU_INSTALL_HINT,
  type WebGPUInfo,
  WebGPUUnavailableError,
} from './setup.ts';
