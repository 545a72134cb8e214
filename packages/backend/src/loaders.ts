// The candidates both platforms share. Each returns the device in words, or throws BackendUnavailableError.
import * as tf from '@tensorflow/tfjs-core';
import {
  activate,
  type BackendLoader,
  BackendUnavailableError,
  type LoadContext,
  type ModuleImporter,
  tryImport,
} from './select.ts';

export const WASM_HINT = 'npm install @tensorflow/tfjs-backend-wasm@4.22.0 @skipnet/wasm-kernels';
const CPU_HINT = 'npm install @tensorflow/tfjs-backend-cpu@4.22.0';

/**
 * The modules this package can load on every platform, as literal imports so that a bundler sees them and
 * splits each into its own chunk: a page downloads only the backend it picks.
 */
export const BUNDLED_MODULES: Record<string, () => Promise<unknown>> = {
  '@skipnet/webgpu': () => import('@skipnet/webgpu'),
  '@skipnet/wasm-kernels': () => import('@skipnet/wasm-kernels'),
  '@tensorflow/tfjs-backend-wasm': () => import('@tensorflow/tfjs-backend-wasm'),
  '@tensorflow/tfjs-backend-cpu': () => import('@tensorflow/tfjs-backend-cpu'),
};

export const importBundled: ModuleImporter = async (specifier) => {
  const load = BUNDLED_MODULES[specifier];
  if (!load) throw new Error(`@skipnet/backend does not load ${specifier} on this platform`);
  return load();
};

interface WebGPUPackage {
  setupWebGPU(options: {
    allowSoftware?: boolean;
  }): Promise<{ adapter: string; software: boolean; features: string[] }>;
  registerWebGPUTrainingKernels(): void;
  WebGPUUnavailableError: new (...args: never[]) => Error & { reason: string; hint: string };
}

/**
 * WebGPU through `@skipnet/webgpu` (the page's navigator.gpu, or Dawn in Node: its package entry picks), with its
 * faster training kernels. A software adapter is taken only when allowed, and then said to be one.
 */
export function webgpuLoader(hint: string, via: string): BackendLoader {
  return async (context) => {
    const webgpu = await tryImport<WebGPUPackage>(context, '@skipnet/webgpu', 'webgpu', hint);
    let info: Awaited<ReturnType<WebGPUPackage['setupWebGPU']>>;
    try {
      info = await webgpu.setupWebGPU({ allowSoftware: context.allowSoftwareWebGPU });
    } catch (error) {
      if (error instanceof webgpu.WebGPUUnavailableError) {
        throw new BackendUnavailableError('webgpu', error.reason, error.hint);
      }
      throw error;
    }
    await activate('webgpu', 'webgpu', hint);
    webgpu.registerWebGPUTrainingKernels();
    const f16 = info.features.includes('shader-f16') ? ', shader-f16' : '';
    return info.software
      ? `CPU pretending to be a GPU (WebGPU software adapter: ${info.adapter}; slow, for tests)`
      : `GPU (WebGPU${via}: ${info.adapter}${f16})`;
  };
}

/** The slice of tfjs-backend-wasm's module the platforms' starts use. */
export interface WasmModule {
  setWasmPaths(paths: string | Record<string, string>): void;
  setThreadsCount(threads: number): void;
  getThreadsCount(): number;
}

/** Starts the wasm backend with threads as the platform allows; returns the device. */
export type WasmStart = (wasm: WasmModule, context: LoadContext) => Promise<string>;

/** tfjs-backend-wasm with `@skipnet/wasm-kernels`' training kernels (stock wasm cannot train a conv net). */
export function wasmLoader(start: WasmStart): BackendLoader {
  return async (context) => {
    const wasm = await tryImport<WasmModule>(context, '@tensorflow/tfjs-backend-wasm', 'wasm', WASM_HINT);
    const kernels = await tryImport<{ registerTrainingKernels(): void }>(
      context,
      '@skipnet/wasm-kernels',
      'wasm',
      WASM_HINT,
    );
    kernels.registerTrainingKernels();
    return start(wasm, context);
  };
}

/** Whether the wasm backend has started (not tf.findBackend, which would start it single-threaded). */
export function wasmStarted(): boolean {
  return 'wasm' in tf.engine().registry;
}

export const loadCpu: BackendLoader = async (context) => {
  await tryImport(context, '@tensorflow/tfjs-backend-cpu', 'cpu', CPU_HINT);
  await activate('cpu', 'cpu', CPU_HINT);
  return 'CPU (plain JavaScript)';
};
