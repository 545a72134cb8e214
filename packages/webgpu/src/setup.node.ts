/// <reference types="@webgpu/types" />
// Node's half of setupWebGPU: Dawn (the `webgpu` npm package) in place of a browser's navigator.gpu.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  activeWebGPU,
  type SetupWebGPUOptions,
  startWebGPUBackend,
  type WebGPUInfo,
  WebGPUUnavailableError,
} from './setup.ts';

/** How to find a WebGPU adapter in Node. */
export interface SetupWebGPUNodeOptions extends SetupWebGPUOptions {
  /** Extra Dawn toggles for `create()` (for instance `enable-dawn-features=...`). */
  dawnFlags?: string[];
}

export const WEBGPU_INSTALL_HINT =
  'npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0; on Linux a Vulkan loader (apt-get install libvulkan1) and a GPU driver with Vulkan';
const SOFTWARE_HINT =
  'for a software adapter (tests only): apt-get install libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri, and pass allowSoftware';

type Dawn = { create(flags: string[]): GPU; globals: object };

async function importDawn(): Promise<Dawn> {
  try {
    return (await import('webgpu')) as Dawn;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const missing = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND';
    throw new WebGPUUnavailableError(
      missing ? 'webgpu is not installed' : `webgpu failed to load: ${e.message}`,
      WEBGPU_INSTALL_HINT,
    );
  }
}

// Run in a child process: Dawn writes its warnings ("Couldn't load Vulkan: ...") from native code straight to
// the process's stderr, where no JavaScript can catch them; a child's stderr can be read and its words put into
// the reason instead of in front of the program's own output.
const PROBE = `
const [dawnUrl, flags, powerPreference] = process.argv.slice(1);
const { create } = await import(dawnUrl);
const adapter = await create(JSON.parse(flags)).requestAdapter({ powerPreference });
process.stdout.write(JSON.stringify({ hardware: adapter !== null && !adapter.info.isFallbackAdapter }));
process.exit(0);
`;

/** Whether Dawn finds a hardware adapter, and what Dawn said while looking. */
async function probeHardware(flags: string[], powerPreference: string) {
  const dawnUrl = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', PROBE, dawnUrl, JSON.stringify(flags), powerPreference],
    { timeout: 60_000 },
  );
  const said = stderr
    .split('\n')
    .filter((line) => /^\S/.test(line)) // Dawn's source locations follow each warning, indented
    .map((line) => line.replace(/^Warning: /, '').trim())
    .filter((line) => line.length > 0);
  return { hardware: (JSON.parse(stdout) as { hardware: boolean }).hardware, said };
}

async function findAdapter(dawn: Dawn, options: SetupWebGPUNodeOptions) {
  const powerPreference = options.powerPreference ?? 'high-performance';
  const flags = options.dawnFlags ?? [];
  const probe = await probeHardware(flags, powerPreference);
  if (probe.hardware) {
    const gpu = dawn.create(flags);
    const adapter = await gpu.requestAdapter({ powerPreference });
    if (adapter) return { gpu, adapter, software: false };
  }
  if (!options.allowSoftware) {
    const why = probe.said.length > 0 ? `Dawn: ${probe.said.join('; ')}` : 'no GPU driver with Vulkan';
    throw new WebGPUUnavailableError(
      `Dawn found no WebGPU adapter (${why})`,
      `${WEBGPU_INSTALL_HINT}\n  ${SOFTWARE_HINT}`,
    );
  }
  // Mesa's EGL needs no display when asked for the surfaceless platform; it must be set before EGL starts.
  process.env['EGL_PLATFORM'] ??= 'surfaceless';
  const gl = dawn.create(['backend=opengles', ...flags]);
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

/**
 * Starts Dawn (the `webgpu` package) in Node, finds an adapter, and registers tfjs's `webgpu` backend on a device
 * from it. Call once before `tf.setBackend('webgpu')`; later calls return the first result.
 */
export async function setupWebGPU(options: SetupWebGPUNodeOptions = {}): Promise<WebGPUInfo> {
  const started = activeWebGPU();
  if (started) return started;
  const dawn = await importDawn();
  // tfjs-backend-webgpu reads these constants (GPUBufferUsage, GPUMapMode, ...) from the global scope.
  Object.assign(globalThis, dawn.globals);
  const { gpu, adapter, software } = await findAdapter(dawn, options);
  // tfjs-backend-webgpu looks for navigator.gpu when it loads.
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...((globalThis as { navigator?: object }).navigator ?? {}), gpu },
    configurable: true,
    writable: true,
  });
  return startWebGPUBackend(adapter, software, WEBGPU_INSTALL_HINT);
}
