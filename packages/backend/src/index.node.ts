// Node: the whole package, with the Node candidates: tfjs-node-gpu and tfjs-node (TensorFlow's C library),
// WebGPU through Dawn, and the wasm backend started threaded (tfjs itself runs it on one thread in Node).
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import {
  BUNDLED_MODULES,
  loadCpu,
  WASM_HINT,
  type WasmStart,
  wasmLoader,
  wasmStarted,
  webgpuLoader,
} from './loaders.ts';
import {
  activate,
  type BackendChoice,
  type BackendLoader,
  type BackendName,
  BackendUnavailableError,
  firstLine,
  type ModuleImporter,
  type Platform,
  type SelectOptions,
  selectOn,
  tryImport,
} from './select.ts';

export * from './index.ts';

/** The backends `selectBackend` can pick in Node, best first: `auto` tries them in this order. */
export const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;

const TFJS_NODE_GPU_HINT =
  'npm install @tensorflow/tfjs-node-gpu@4.22.0 (its install downloads libtensorflow; it needs CUDA 11.2 and cuDNN 8.1 on the library path)';
const TFJS_NODE_HINT = 'npm install @tensorflow/tfjs-node@4.22.0 (its install downloads libtensorflow)';
const WEBGPU_HINT =
  'npm install webgpu@0.6.2, and on Linux a Vulkan loader (apt-get install libvulkan1) with a GPU driver that provides Vulkan';

// tfjs-node and tfjs-node-gpu are optional peers that may be absent, so they are imported by a name only known
// at run time; everything else is a dependency.
const importInNode: ModuleImporter = (specifier) => BUNDLED_MODULES[specifier]?.() ?? import(specifier);

function tfjsNodeLoader(backend: 'tfjs-node' | 'tfjs-node-gpu'): BackendLoader {
  const gpu = backend === 'tfjs-node-gpu';
  const hint = gpu ? TFJS_NODE_GPU_HINT : TFJS_NODE_HINT;
  return async (context) => {
    await tryImport(context, `@tensorflow/${backend}`, backend, hint);
    await activate('tensorflow', backend, hint);
    const usingGpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
    if (gpu && !usingGpu) {
      // tfjs-node-gpu falls back to the CPU without a word when CUDA 11.2/cuDNN 8 are missing (tfjs issue 8269).
      throw new BackendUnavailableError(
        backend,
        'it loaded, but TensorFlow found no usable GPU and would silently run on the CPU',
        'install CUDA 11.2 and cuDNN 8.1 where libtensorflow can find them, or use webgpu',
      );
    }
    return usingGpu ? 'GPU (TensorFlow C library, CUDA)' : 'CPU (TensorFlow C library)';
  };
}

/** Threads for the wasm backend in Node: `SKIPNET_WASM_THREADS`, else every core. */
export function wasmThreads(): number {
  const asked = Number(process.env['SKIPNET_WASM_THREADS']);
  return Number.isInteger(asked) && asked >= 1 ? asked : availableParallelism();
}

const startInNode: WasmStart = async (_wasm, context) => {
  const wanted = context.threads ?? wasmThreads();
  // tfjs runs wasm on one thread under Node; @skipnet/wasm-kernels/threads starts its threaded XNNPACK build,
  // which only works before the backend has started.
  if (wanted > 1 && !wasmStarted()) {
    const threads = await tryImport<{ setThreadedWasmBackend(o: { threads: number }): Promise<number> }>(
      context,
      '@skipnet/wasm-kernels/threads',
      'wasm',
      WASM_HINT,
    );
    try {
      const got = await threads.setThreadedWasmBackend({ threads: wanted });
      return `CPU (WebAssembly, XNNPACK, ${got} threads)`;
    } catch (error) {
      throw new BackendUnavailableError(
        'wasm',
        `the threaded wasm build did not start: ${firstLine(error)}`,
        'SKIPNET_WASM_THREADS=1 runs it on one thread',
      );
    }
  }
  await activate('wasm', 'wasm', WASM_HINT);
  return 'CPU (WebAssembly, XNNPACK, 1 thread)';
};

/** The start of the banner tfjs-backend-cpu prints in Node on its first tensor. */
const TFJS_NODE_BANNER = 'Hi, looks like you are running TensorFlow.js in Node.js';

/**
 * The cpu backend, without tfjs-backend-cpu's banner: on its first tensor in Node it writes "Hi, looks like you
 * are running TensorFlow.js in Node.js. To speed things up dramatically, install our node backend…" to
 * console.warn, framed in lines of `=`, in the middle of a command line's output. The choice's passed-over lines
 * already say what to install for speed, so that first tensor is made here with that one message held back
 * (synchronously: nothing else can warn meanwhile, and every other message goes through).
 */
const loadCpuInNode: BackendLoader = async (context) => {
  const device = await loadCpu(context);
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes(TFJS_NODE_BANNER)) warn(...args);
  };
  try {
    tf.dispose(tf.scalar(0));
  } finally {
    console.warn = warn;
  }
  return device;
};

const node: Platform = {
  loaders: [
    ['tfjs-node-gpu', tfjsNodeLoader('tfjs-node-gpu')],
    ['tfjs-node', tfjsNodeLoader('tfjs-node')],
    ['webgpu', webgpuLoader(WEBGPU_HINT, ' via Dawn')],
    ['wasm', wasmLoader(startInNode)],
    ['cpu', loadCpuInNode],
  ],
  importer: importInNode,
};

/**
 * Makes `requested` the active tfjs backend, or with `'auto'` the best that works here, and says why each better
 * one was passed over. A backend asked for by name that cannot work throws {@link BackendUnavailableError},
 * whose message says what to install or change.
 */
export function selectBackend(
  requested: BackendName | 'auto' = 'auto',
  options: SelectOptions = {},
): Promise<BackendChoice> {
  return selectOn(node, requested, options);
}
