// The browser's (and every bundle's) backend choice: webgpu, then wasm (threaded when the page is cross-origin
// isolated), then cpu. The Node entry (index.node.ts) adds tfjs-node-gpu, tfjs-node and WebGPU through Dawn.

import {
  importBundled,
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
  type BackendName,
  BackendUnavailableError,
  type Platform,
  type SelectOptions,
  selectOn,
} from './select.ts';

export {
  BACKEND_NAMES,
  type BackendChoice,
  type BackendName,
  BackendUnavailableError,
  type ModuleImporter,
  type SelectOptions,
} from './select.ts';

/** The backends `selectBackend` can pick in a page, best first: `auto` tries them in this order. */
export const BACKENDS = ['webgpu', 'wasm', 'cpu'] as const satisfies readonly BackendName[];

const WEBGPU_HINT =
  'use a browser with WebGPU (Chrome or Edge 113+, Safari 26+) on a page served over https or from localhost';
const ISOLATION_HINT =
  'threads need a cross-origin-isolated page: serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';

const startInPage: WasmStart = async (wasm, context) => {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  if (!wasmStarted()) {
    if (context.wasmPaths) wasm.setWasmPaths(context.wasmPaths);
    // tfjs takes its threaded build by itself where SharedArrayBuffer exists, that is, in an isolated page.
    wasm.setThreadsCount(context.threads ?? (isolated ? (cores ?? 1) : 1));
  }
  await activate('wasm', 'wasm', WASM_HINT);
  const threads = wasm.getThreadsCount();
  if (threads > 1) return `CPU (WebAssembly, XNNPACK, ${threads} threads)`;
  if (!isolated) return `CPU (WebAssembly, XNNPACK, 1 thread; ${ISOLATION_HINT})`;
  // tfjs sizes its worker pool at half navigator.hardwareConcurrency (it counts two hardware threads per core).
  return `CPU (WebAssembly, XNNPACK, threaded build on 1 thread: tfjs takes half of the ${cores ?? '?'} logical cores)`;
};

const page: Platform = {
  loaders: [
    ['webgpu', webgpuLoader(WEBGPU_HINT, '')],
    ['wasm', wasmLoader(startInPage)],
    ['cpu', loadCpu],
  ],
  importer: importBundled,
  elsewhere: (name) =>
    new BackendUnavailableError(
      name,
      `${name} runs only in Node`,
      `in a page, use auto or one of ${BACKENDS.join(', ')}`,
    ),
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
  return selectOn(page, requested, options);
}
