/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs-core';

/** How to find a WebGPU adapter in Node. */
export interface SetupWebGPUOptions {
  /**
   * Also accept a software adapter (Mesa's llvmpipe through Dawn's OpenGL ES backend) when no hardware adapter
   * exists. It runs on the CPU and is far slower than the wasm backend: for tests of WebGPU code on machines
   * without a GPU, not for training. Default false.
   */
  allowSoftware?: boolean;
  /** Passed to `requestAdapter`. Default 'high-performance'. */
  powerPreference?: 'high-performance' | 'low-power';
  /** Extra Dawn toggles for `create()` (for instance `enable-dawn-features=...`). */
  dawnFlags?: string[];
}

/** What the `webgpu` tfjs backend now runs on. */
export interface WebGPUInfo {
  /** The adapter in words: vendor, architecture, device, description as Dawn reports them. */
  adapter: string;
  /** True for a CPU-emulated adapter (Mesa llvmpipe): correct but slow. */
  software: boolean;
  /** The limits tfjs asks the device for. */
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
  };
  /** Optional WebGPU features the adapter has (for instance `shader-f16`, `timestamp-query`). */
  features: string[];
}

export class WebGPUUnavailableError extends Error {
  constructor(
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`WebGPU is not available: ${reason}\n  ${hint}`);
    this.name = 'WebGPUUnavailableError';
  }
}

export const WEBGPU_INSTALL_HINT =
  'npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0; on Linux a Vulkan loader (apt-get install libvulkan1) and a GPU driver with Vulkan';
const SOFTWARE_HINT =
  'for a software adapter (tests only): apt-get install libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri, and pass allowSoftware';

type Dawn = { create(flags: string[]): GPU; globals: object };
type TfjsWebGPU = {
  WebGPUBackend: new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => tf.KernelBackend;
};

// Literal specifiers, so that bundlers see (and a bundle carries) both modules.
async function importOrExplain<T>(specifier: string, load: () => Promise<unknown>): Promise<T> {
  try {
    return (await load()) as T;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const missing = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND';
    throw new WebGPUUnavailableError(
      missing ? `${specifier} is not installed` : `${specifier} failed to load: ${e.message}`,
      WEBGPU_INSTALL_HINT,
    );
  }
}

function describe(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (p) => p && p.length > 0,
  );
  return parts.length > 0 ? parts.join(' ') : 'unnamed adapter';
}

async function findAdapter(dawn: Dawn, options: SetupWebGPUOptions) {
  const powerPreference = options.powerPreference ?? 'high-performance';
  const hardware = dawn.create(options.dawnFlags ?? []);
  const adapter = await hardware.requestAdapter({ powerPreference });
  if (adapter && !adapter.info.isFallbackAdapter) return { gpu: hardware, adapter, software: false };
  if (!options.allowSoftware) {
    throw new WebGPUUnavailableError(
      'Dawn found no WebGPU adapter (no Vulkan loader, or no GPU driver with Vulkan)',
      `${WEBGPU_INSTALL_HINT}\n  ${SOFTWARE_HINT}`,
    );
  }
  // Mesa's EGL needs no display when asked for the surfaceless platform; it must be set before EGL starts.
  process.env['EGL_PLATFORM'] ??= 'surfaceless';
  const gl = dawn.create(['backend=opengles', ...(options.dawnFlags ?? [])]);
  // The OpenGL ES backend only offers WebGPU's compatibility feature level.
  const software = await gl.requestAdapter({
    powerPreference,
    featureLevel: 'compatibility',
  } as GPURequestAdapterOptions);
  if (!software) {
    throw new WebGPUUnavailableError(
      'Dawn found neither a hardware nor a software (OpenGL ES) adapter',
      SOFTWARE_HINT,
    );
  }
  return { gpu: gl, adapter: software, software: true };
}

let active: WebGPUInfo | undefined;

/**
 * Starts Dawn (the `webgpu` package) in Node, finds an adapter, and registers tfjs's `webgpu` backend on a device
 * from it. Call once before `tf.setBackend('webgpu')`; later calls return the first result.
 */
export async function setupWebGPU(options: SetupWebGPUOptions = {}): Promise<WebGPUInfo> {
  if (active) return active;
  const dawn = await importOrExplain<Dawn>('webgpu', () => import('webgpu'));
  // tfjs-backend-webgpu reads these constants (GPUBufferUsage, GPUMapMode, ...) from the global scope.
  Object.assign(globalThis, dawn.globals);
  const { gpu, adapter, software } = await findAdapter(dawn, options);
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...((globalThis as { navigator?: object }).navigator ?? {}), gpu },
    configurable: true,
    writable: true,
  });
  const backendModule = await importOrExplain<TfjsWebGPU>(
    '@tensorflow/tfjs-backend-webgpu',
    () => import('@tensorflow/tfjs-backend-webgpu'),
  );
  const features = [...adapter.features] as string[];
  const limits = {
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
  };
  const device = await adapter.requestDevice({
    requiredFeatures: features.includes('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      ...limits,
      maxComputeWorkgroupsPerDimension: adapter.limits.maxComputeWorkgroupsPerDimension,
      maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
      // tfjs's Concat takes this many inputs minus one per dispatch (an im2col concatenates kh·kw windows).
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
    },
  });
  // Importing tfjs-backend-webgpu registers a factory that asks navigator.gpu for its own adapter; ours replaces
  // it so the adapter found above (hardware, or software when allowed) is the one that runs.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new backendModule.WebGPUBackend(device, adapter.info), 3);
  active = { adapter: describe(adapter.info), software, limits, features };
  return active;
}
