import * as tf from '@tensorflow/tfjs-core';

/** Every backend name `selectBackend` knows, best first. Each platform tries the ones it can run. */
export const BACKEND_NAMES = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

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

/** Options of `selectBackend`. */
export interface SelectOptions {
  /** Loads the backends' modules. Default: the real imports. */
  importer?: ModuleImporter;
  /** Accept a software WebGPU adapter. Default: only when `webgpu` is asked for by name. */
  allowSoftwareWebGPU?: boolean;
  /**
   * Threads for the wasm backend. Default: in Node `SKIPNET_WASM_THREADS`, else every core; in a page every core
   * (`navigator.hardwareConcurrency`) when the page is cross-origin isolated, else 1 (browsers allow threads
   * only then).
   */
  threads?: number;
  /**
   * Where the page serves tfjs-backend-wasm's `.wasm` files: a folder URL ending in `/`, or one URL per file name
   * (tfjs's `setWasmPaths`). A bundler does not copy them by itself. Not needed in Node.
   */
  wasmPaths?: string | Record<string, string>;
}

/** What a backend loader gets: the options, resolved. */
export interface LoadContext {
  importer: ModuleImporter;
  allowSoftwareWebGPU: boolean;
  threads: number | undefined;
  wasmPaths: SelectOptions['wasmPaths'];
}

/** One candidate: makes its backend the active one, or throws {@link BackendUnavailableError}; returns the device. */
export type BackendLoader = (context: LoadContext) => Promise<string>;

/** The backends one platform can run, best first, and how to start each. */
export interface Platform {
  loaders: ReadonlyArray<readonly [BackendName, BackendLoader]>;
  importer: ModuleImporter;
  /** Why a name this platform cannot run is refused (tfjs-node in a browser); absent where it runs every one. */
  elsewhere?: (name: BackendName) => BackendUnavailableError;
}

function isModuleNotFound(error: unknown, specifier: string): boolean {
  const e = error as { code?: string; message?: string };
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    (e.message ?? '').includes(specifier)
  );
}

export function firstLine(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

export async function tryImport<T>(
  context: LoadContext,
  specifier: string,
  backend: BackendName,
  hint: string,
): Promise<T> {
  try {
    return (await context.importer(specifier)) as T;
  } catch (error) {
    if (isModuleNotFound(error, specifier)) {
      throw new BackendUnavailableError(backend, `${specifier} is not installed`, hint);
    }
    throw new BackendUnavailableError(backend, `${specifier} failed to load: ${firstLine(error)}`, hint);
  }
}

export async function activate(tfjsName: string, backend: BackendName, hint: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(tfjsName);
  } catch (error) {
    throw new BackendUnavailableError(
      backend,
      `initialising '${tfjsName}' failed: ${firstLine(error)}`,
      hint,
    );
  }
  if (!ok) throw new BackendUnavailableError(backend, `tfjs could not initialise '${tfjsName}'`, hint);
}

/**
 * Makes `requested` the active tfjs backend, or with `auto` the best of `platform`'s that works here. An
 * explicitly requested backend that cannot work throws {@link BackendUnavailableError} with an install hint.
 */
export async function selectOn(
  platform: Platform,
  requested: BackendName | 'auto',
  options: SelectOptions,
): Promise<BackendChoice> {
  if (requested !== 'auto' && !BACKEND_NAMES.includes(requested)) {
    throw new Error(`unknown backend '${requested}': use auto or one of ${BACKEND_NAMES.join(', ')}`);
  }
  const context: LoadContext = {
    importer: options.importer ?? platform.importer,
    // A software WebGPU adapter is slower than wasm: auto never takes it, an explicit request may.
    allowSoftwareWebGPU: options.allowSoftwareWebGPU ?? requested === 'webgpu',
    threads: options.threads,
    wasmPaths: options.wasmPaths,
  };
  const candidates =
    requested === 'auto' ? platform.loaders : platform.loaders.filter(([name]) => name === requested);
  const elsewhere = candidates.length === 0 ? platform.elsewhere?.(requested as BackendName) : undefined;
  if (elsewhere) throw elsewhere;
  const passedOver: BackendChoice['passedOver'] = [];
  for (const [name, load] of candidates) {
    try {
      const device = await load(context);
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
