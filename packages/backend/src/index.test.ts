// The page's choice (index.ts), run here in Node: no cross-origin isolation, and no WebGPU (here '@skipnet/webgpu'
// resolves to its Dawn entry, so it is made to fail). The same code in headless Chromium, with WebGPU (SwiftShader)
// and with threads, is tested by examples/train-browser.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BACKENDS, BackendUnavailableError, type ModuleImporter, selectBackend } from './index.ts';
import { importBundled } from './loaders.ts';

/** The page's importer, with `absent` packages made to fail as a bundle's missing chunk would. */
function without(...absent: string[]): ModuleImporter {
  return (specifier) =>
    absent.includes(specifier)
      ? Promise.reject(new TypeError(`Failed to fetch dynamically imported module: ${specifier}`))
      : importBundled(specifier);
}

describe('selectBackend in a page', () => {
  it('tries webgpu, wasm, cpu in that order', () => {
    expect(BACKENDS).toEqual(['webgpu', 'wasm', 'cpu']);
  });

  it('auto passes over what fails to load and takes wasm on one thread, saying how to get threads', async () => {
    const choice = await selectBackend('auto', { importer: without('@skipnet/webgpu') });
    expect(choice.passedOver).toEqual([
      {
        name: 'webgpu',
        reason:
          '@skipnet/webgpu failed to load: Failed to fetch dynamically imported module: @skipnet/webgpu',
      },
    ]);
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.device).toBe(
      'CPU (WebAssembly, XNNPACK, 1 thread; threads need a cross-origin-isolated page: serve it with ' +
        'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)',
    );
  });

  it('falls back to cpu when wasm fails to load too', async () => {
    const importer = without('@skipnet/webgpu', '@tensorflow/tfjs-backend-wasm');
    const choice = await selectBackend('auto', { importer });
    expect(choice.name).toBe('cpu');
    expect(choice.passedOver.map((p) => p.name)).toEqual(['webgpu', 'wasm']);
  });

  it('refuses the Node-only backends by name, saying what a page can use', async () => {
    const attempt = selectBackend('tfjs-node-gpu');
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(
      "backend 'tfjs-node-gpu' is not available: tfjs-node-gpu runs only in Node\n  in a page, use auto or one of webgpu, wasm, cpu",
    );
  });

  it('rejects an unknown name', async () => {
    await expect(selectBackend('metal' as 'cpu')).rejects.toThrow(
      "unknown backend 'metal': use auto or one of tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu",
    );
  });
});
