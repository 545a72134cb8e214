import { relaxedSimdWasm, simdWasm } from './kernels-wasm.ts';

/** The exports of csrc/kernels.c (arguments and layouts are documented there). */
export const kernelNames = [
  'pack_panels',
  'pad_input',
  'conv_direct',
  'pack_flipped_filter',
  'pack_transposed',
  'col2im',
  'channels_first',
  'pixel_offsets',
  'conv_filter_grad',
  'sum_partials',
  'max_pool_grad',
  'winograd_gemm',
  'winograd_filter_gemm',
  'winograd_input',
  'winograd_output',
  'winograd_filter',
  'winograd_output_grad',
  'winograd_filter_grad',
] as const;

export type KernelName = (typeof kernelNames)[number];

/** Each takes int32 arguments (pointers are byte offsets into tfjs-backend-wasm's memory) and returns nothing. */
export type KernelExports = Record<KernelName, (...args: number[]) => void>;

/**
 * Which build of the kernels runs: 'relaxed-simd' (fused multiply-add) where the runtime validates it, else 'simd';
 * 'none' where the runtime has no WebAssembly SIMD (then every kernel keeps tfjs-backend-wasm's own path).
 */
export type KernelBuild = 'relaxed-simd' | 'simd' | 'none';

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

interface Chosen {
  build: KernelBuild;
  bytes?: Uint8Array<ArrayBuffer>;
}

/** The relaxed-SIMD build where the runtime validates it, else the SIMD one, else none. */
function detect(): Chosen {
  const relaxed = decode(relaxedSimdWasm);
  if (WebAssembly.validate(relaxed)) return { build: 'relaxed-simd', bytes: relaxed };
  const simd = decode(simdWasm);
  if (WebAssembly.validate(simd)) return { build: 'simd', bytes: simd };
  return { build: 'none' };
}

let chosen: Chosen | undefined;

function choose(): Chosen {
  chosen ??= detect();
  return chosen;
}

/** The build this runtime gets. */
export function kernelBuild(): KernelBuild {
  return choose().build;
}

/** Forces a build (tests and measurements compare them); returns the previous one. */
export function setKernelBuild(build: KernelBuild): KernelBuild {
  const previous = choose().build;
  if (build === previous) return previous;
  if (build === 'none') {
    chosen = { build };
  } else {
    const bytes = decode(build === 'relaxed-simd' ? relaxedSimdWasm : simdWasm);
    if (!WebAssembly.validate(bytes))
      throw new Error(`setKernelBuild: this runtime cannot run the ${build} build.`);
    chosen = { build, bytes };
  }
  compiled.clear();
  instances = new WeakMap();
  return previous;
}

/** The module's one import, tfjs's memory, as wasm-ld writes it for an unshared and for a shared memory. */
const memoryImport = (shared: boolean) =>
  Uint8Array.of(
    ...[1, 3, ...[...'env'].map((c) => c.charCodeAt(0)), 6, ...[...'memory'].map((c) => c.charCodeAt(0)), 2],
    // limits: unshared, at least 1 page; or shared, 1 to 65536 pages (4 GiB, tfjs's threaded maximum)
    ...(shared ? [3, 1, 0x80, 0x80, 0x04] : [0, 1]),
  );

/**
 * The same module importing a shared memory (tfjs's threaded build): only the import section differs, and it is
 * what wasm-ld's --shared-memory writes (src/kernels-wasm.test.ts checks that byte for byte), so one binary per
 * build ships instead of two.
 */
export function importingSharedMemory(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const unshared = memoryImport(false);
  let at = 8; // after the magic number and version
  while (at < bytes.length) {
    const id = bytes[at] as number;
    let size = 0;
    let shift = 0;
    let p = at + 1;
    for (;;) {
      const byte = bytes[p++] as number;
      size |= (byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) break;
    }
    if (id === 2) {
      const body = bytes.subarray(p, p + size);
      if (size !== unshared.length || !body.every((b, i) => b === unshared[i])) {
        throw new Error('@skipnet/wasm-kernels: unexpected imports in the kernels module (rebuild it).');
      }
      const shared = memoryImport(true);
      const out = new Uint8Array(bytes.length - size + shared.length);
      out.set(bytes.subarray(0, at));
      out.set([2, shared.length, ...shared], at); // both sizes fit one LEB128 byte
      out.set(bytes.subarray(p + size), at + 2 + shared.length);
      return out;
    }
    at = p + size;
  }
  throw new Error('@skipnet/wasm-kernels: the kernels module imports no memory (rebuild it).');
}

/** Compiled modules by memory kind, once each: compiling takes a few milliseconds. */
const compiled = new Map<boolean, WebAssembly.Module | Promise<void>>();

/**
 * The module for an unshared or a shared memory, or undefined while it compiles. Compiling synchronously is what a
 * kernel needs; browsers refuse it on their main thread for modules over 4 KiB, so there the first calls start an
 * asynchronous compile and keep tfjs's own path until it is ready.
 */
export function compiledModule(shared: boolean): WebAssembly.Module | undefined {
  const bytes = choose().bytes;
  if (bytes === undefined) return undefined;
  const done = compiled.get(shared);
  if (done instanceof WebAssembly.Module) return done;
  if (done !== undefined) return undefined;
  const source = shared ? importingSharedMemory(bytes) : bytes;
  try {
    const module = new WebAssembly.Module(source);
    compiled.set(shared, module);
    return module;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    compiled.set(
      shared,
      WebAssembly.compile(source).then((module) => {
        compiled.set(shared, module);
      }),
    );
    return undefined;
  }
}

/** tfjs-backend-wasm's Emscripten module: its memory is `wasmMemory` (threaded build) or the `memory` export. */
export interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

export function emscriptenMemory(wasm: EmscriptenModule): WebAssembly.Memory {
  const memory = wasm.wasmMemory ?? wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error(
      "@skipnet/wasm-kernels: cannot find tfjs-backend-wasm's WebAssembly memory (a tfjs version this package does not know?).",
    );
  }
  return memory;
}

let instances = new WeakMap<WebAssembly.Memory, KernelExports>();

/** The kernels working on `memory`, or undefined where they cannot run (yet). */
export function kernelsOn(memory: WebAssembly.Memory): KernelExports | undefined {
  const known = instances.get(memory);
  if (known) return known;
  const module = compiledModule(memory.buffer instanceof SharedArrayBuffer);
  if (module === undefined) return undefined;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  instances.set(memory, exports);
  return exports;
}
