import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';

/** The backends `--backend` accepts, best first: `auto` tries them in this order. */
export const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What was chosen, and why every better candidate was passed over. */
export interface BackendChoice {
  name: BackendName;
  /** The tfjs backend name now active (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  tfjsBackend: string;
  /** What does the work, in words: a GPU's name, or the CPU and its thread count. */
  device: string;
  /** One line per candidate tried before `name`: why it was not used. */
  passedOver: Array<{ name: BackendName; reason: string }>;
}

/** A backend that cannot be used here; `hint` says how to make it usable. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`backend '${backend}' is not available: ${reason}\n  ${hint}`);
    this.name = 'BackendUnavailableError';
  }
}

/** Loads a module by name; tests replace it to simulate packages that are absent. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

export interface SelectOptions {
  importer?: ModuleImporter;
  /** Accept a software WebGPU adapter. Default: only when `webgpu` is asked for by name. */
  allowSoftwareWebGPU?: boolean;
}

const importModule: ModuleImporter = (specifier) => import(specifier);

function isModuleNotFound(error: unknown, specifier: string): boolean {
  const e = error as { code?: string; message?: string };
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    (e.message ?? '').includes(specifier)
  );
}

function cause(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

async function tryImport(importer: ModuleImporter, specifier: string, backend: BackendName, hint: string) {
  try {
    return await importer(specifier);
  } catch (error) {
    if (isModuleNotFound(error, specifier)) {
      throw new BackendUnavailableError(backend, `${specifier} is not installed`, hint);
    }
    throw new BackendUnavailableError(backend, `${specifier} failed to load: ${cause(error)}`, hint);
  }
}

async function activate(tfjsName: string, backend: BackendName, hint: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(tfjsName);
  } catch (error) {
    throw new BackendUnavailableError(backend, `initialising '${tfjsName}' failed: ${cause(error)}`, hint);
  }
  if (!ok) throw new BackendUnavailableError(backend, `tfjs could not initialise '${tfjsName}'`, hint);
}

const TFJS_NODE_GPU_HINT =
  'npm install @tensorflow/tfjs-node-gpu@4.22.0 (its install downloads libtensorflow; it needs CUDA 11.2 and cuDNN 8.1 on the library path)';
const TFJS_NODE_HINT = 'npm install @tensorflow/tfjs-node@4.22.0 (its install downloads libtensorflow)';
const WEBGPU_HINT =
  'npm install @skipnet/webgpu webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0, and on Linux a Vulkan loader (apt-get install libvulkan1) with a GPU driver that provides Vulkan';
const WASM_HINT = 'npm install @tensorflow/tfjs-backend-wasm@4.22.0 @skipnet/wasm-kernels';

interface TfjsNodeBackend {
  isUsingGpuDevice?: boolean;
}

async function loadTfjsNode(backend: 'tfjs-node' | 'tfjs-node-gpu', importer: ModuleImporter) {
  const gpu = backend === 'tfjs-node-gpu';
  const hint = gpu ? TFJS_NODE_GPU_HINT : TFJS_NODE_HINT;
  await tryImport(importer, `@tensorflow/${backend}`, backend, hint);
  await activate('tensorflow', backend, hint);
  const usingGpu = (tf.backend() as TfjsNodeBackend).isUsingGpuDevice === true;
  if (gpu && !usingGpu) {
    // tfjs-node-gpu falls back to the CPU without a word when CUDA 11.2/cuDNN 8 are missing (tfjs issue 8269).
    throw new BackendUnavailableError(
      backend,
      'it loaded, but TensorFlow found no usable GPU and would silently run on the CPU',
      'install CUDA 11.2 and cuDNN 8.1 where libtensorflow can find them, or use --backend webgpu',
    );
  }
  return usingGpu ? 'GPU (TensorFlow C library, CUDA)' : 'CPU (TensorFlow C library)';
}

interface WebGPUPackage {
  setupWebGPU(options: {
    allowSoftware?: boolean;
  }): Promise<{ adapter: string; software: boolean; features: string[] }>;
  WebGPUUnavailableError: new (...args: never[]) => Error & { reason: string; hint: string };
}

async function loadWebgpu(importer: ModuleImporter, allowSoftware: boolean): Promise<string> {
  const webgpu = (await tryImport(importer, '@skipnet/webgpu', 'webgpu', WEBGPU_HINT)) as WebGPUPackage;
  let info: Awaited<ReturnType<WebGPUPackage['setupWebGPU']>>;
  try {
    info = await webgpu.setupWebGPU({ allowSoftware });
  } catch (error) {
    if (error instanceof webgpu.WebGPUUnavailableError) {
      throw new BackendUnavailableError('webgpu', error.reason, error.hint);
    }
    throw error;
  }
  await activate('webgpu', 'webgpu', WEBGPU_HINT);
  const f16 = info.features.includes('shader-f16') ? ', shader-f16' : '';
  return info.software
    ? `CPU pretending to be a GPU (WebGPU software adapter: ${info.adapter}; slow, for tests)`
    : `GPU (WebGPU via Dawn: ${info.adapter}${f16})`;
}

/** Threads for the wasm backend: SKIPNET_WASM_THREADS, else every core. */
export function wasmThreads(): number {
  const asked = Number(process.env['SKIPNET_WASM_THREADS']);
  return Number.isInteger(asked) && asked >= 1 ? asked : availableParallelism();
}

async function loadWasm(importer: ModuleImporter): Promise<string> {
  await tryImport(importer, '@tensorflow/tfjs-backend-wasm', 'wasm', WASM_HINT);
  const kernels = (await tryImport(importer, '@skipnet/wasm-kernels', 'wasm', WASM_HINT)) as {
    registerTrainingKernels: () => void;
  };
  kernels.registerTrainingKernels();
  const wanted = wasmThreads();
  // tfjs runs wasm on one thread under Node; @skipnet/wasm-kernels/threads starts its threaded XNNPACK build,
  // which only works before the backend has started.
  // (Not tf.findBackend to check: it starts the backend, single-threaded, as a side effect.)
  if (wanted > 1 && !('wasm' in tf.engine().registry)) {
    const threads = (await tryImport(importer, '@skipnet/wasm-kernels/threads', 'wasm', WASM_HINT)) as {
      setThreadedWasmBackend: (o: { threads: number }) => Promise<number>;
    };
    try {
      const got = await threads.setThreadedWasmBackend({ threads: wanted });
      return `CPU (WebAssembly, XNNPACK, ${got} threads)`;
    } catch (error) {
      throw new BackendUnavailableError(
        'wasm',
        `the threaded wasm build did not start: ${cause(error)}`,
        'SKIPNET_WASM_THREADS=1 runs it on one thread',
      );
    }
  }
  await activate('wasm', 'wasm', WASM_HINT);
  return 'CPU (WebAssembly, XNNPACK, 1 thread)';
}

async function loadCpu(importer: ModuleImporter): Promise<string> {
  await tryImport(
    importer,
    '@tensorflow/tfjs-backend-cpu',
    'cpu',
    'npm install @tensorflow/tfjs-backend-cpu@4.22.0',
  );
  await activate('cpu', 'cpu', 'npm install @tensorflow/tfjs-backend-cpu@4.22.0');
  return 'CPU (plain JavaScript)';
}

async function load(name: BackendName, importer: ModuleImporter, allowSoftware: boolean): Promise<string> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      return loadTfjsNode(name, importer);
    case 'webgpu':
      return loadWebgpu(importer, allowSoftware);
    case 'wasm':
      return loadWasm(importer);
    case 'cpu':
      return loadCpu(importer);
  }
}

/**
 * Makes `requested` the active tfjs backend, or with `auto` the best one that works here. An explicitly
 * requested backend that cannot work throws {@link BackendUnavailableError} with an install hint.
 */
export async function selectBackend(
  requested: BackendName | 'auto',
  options: SelectOptions = {},
): Promise<BackendChoice> {
  const importer = options.importer ?? importModule;
  // A software WebGPU adapter (Mesa llvmpipe) is slower than wasm: auto never takes it, an explicit request may.
  const allowSoftware = options.allowSoftwareWebGPU ?? requested === 'webgpu';
  const candidates = requested === 'auto' ? BACKENDS : [requested];
  const passedOver: BackendChoice['passedOver'] = [];
  for (const name of candidates) {
    try {
      const device = await load(name, importer, allowSoftware);
      return { name, tfjsBackend: tf.getBackend(), device, passedOver };
    } catch (error) {
      if (!(error instanceof BackendUnavailableError) || requested !== 'auto') throw error;
      passedOver.push({ name, reason: error.reason });
    }
  }
  throw new Error(
    `no backend could be initialised: ${passedOver.map((p) => `${p.name}: ${p.reason}`).join('; ')}`,
  );
}
