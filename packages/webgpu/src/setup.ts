/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs-core';

/** How to find a WebGPU adapter. */
export interface SetupWebGPUOptions {
  /**
   * Also accept a software adapter (SwiftShader in Chromium, Mesa's llvmpipe through Dawn's OpenGL ES backend in
   * Node) when no hardware adapter exists. It runs on the CPU and is far slower than the wasm backend: for tests
   * of WebGPU code on machines without a GPU, not for training. Default false.
   */
  allowSoftware?: boolean;
  /** Passed to `requestAdapter`. Default 'high-performance'. */
  powerPreference?: 'high-performance' | 'low-power';
}

/** What the `webgpu` tfjs backend now runs on. */
export interface WebGPUInfo {
  /** The adapter in words: vendor, architecture, device, description as the browser or Dawn reports them. */
  adapter: string;
  /** True for a CPU-emulated adapter (SwiftShader, llvmpipe): correct but slow. */
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

/** What a page needs for WebGPU. */
export const WEBGPU_BROWSER_HINT =
  'use a browser with WebGPU (Chrome or Edge 113+, Safari 26+) on a page served over https or from localhost';
const SOFTWARE_BROWSER_HINT =
  'a software adapter runs on the CPU, slower than the wasm backend; pass allowSoftware to take it anyway';

type TfjsWebGPU = {
  WebGPUBackend: new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => tf.KernelBackend;
};

/** The adapter in words, from what the browser or Dawn reports. */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (p) => p && p.length > 0,
  );
  return parts.length > 0 ? parts.join(' ') : 'unnamed adapter';
}

let active: WebGPUInfo | undefined;

/** The result of the first successful setup, which later calls return. */
export function activeWebGPU(): WebGPUInfo | undefined {
  return active;
}

/**
 * The part of the setup every platform shares: a device on `adapter` with the limits tfjs asks for, and tfjs's
 * `webgpu` backend registered on it.
 */
export async function startWebGPUBackend(
  adapter: GPUAdapter,
  software: boolean,
  hint: string,
): Promise<WebGPUInfo> {
  let backendModule: TfjsWebGPU;
  try {
    backendModule = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as TfjsWebGPU;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const missing = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND';
    throw new WebGPUUnavailableError(
      missing
        ? '@tensorflow/tfjs-backend-webgpu is not installed'
        : `@tensorflow/tfjs-backend-webgpu failed to load: ${e.message}`,
      hint,
    );
  }
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
  // it so the adapter found here (hardware, or software when allowed) is the one that runs.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new backendModule.WebGPUBackend(device, adapter.info), 3);
  active = { adapter: describeAdapter(adapter.info), software, limits, features };
  return active;
}

// Chromium reports SwiftShader as a fallback adapter; older builds only name it.
function isSoftware(adapter: GPUAdapter): boolean {
  return (
    adapter.info.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(describeAdapter(adapter.info))
  );
}

/**
 * Finds the browser's WebGPU adapter (`navigator.gpu`) and registers tfjs's `webgpu` backend on a device from it.
 * Call once before `tf.setBackend('webgpu')`; later calls return the first result. In Node the package's Node
 * entry replaces this with the same function on Dawn.
 */
export async function setupWebGPU(options: SetupWebGPUOptions = {}): Promise<WebGPUInfo> {
  if (active) return active;
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
    throw new WebGPUUnavailableError(
      secure === false
        ? 'this page is not a secure context (WebGPU needs https or localhost)'
        : 'this browser has no WebGPU (navigator.gpu is missing)',
      WEBGPU_BROWSER_HINT,
    );
  }
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? 'high-performance',
  });
  if (!adapter) {
    throw new WebGPUUnavailableError(
      'the browser offers no WebGPU adapter (no supported GPU, a blocklisted driver, or WebGPU switched off)',
      WEBGPU_BROWSER_HINT,
    );
  }
  const software = isSoftware(adapter);
  if (software && !options.allowSoftware) {
    throw new WebGPUUnavailableError(
      `the only WebGPU adapter is a software one (${describeAdapter(adapter.info)})`,
      SOFTWARE_BROWSER_HINT,
    );
  }
  return startWebGPUBackend(adapter, software, WEBGPU_BROWSER_HINT);
}
