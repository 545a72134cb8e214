import { execFileSync } from 'node:child_process';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, type ModuleImporter, selectBackend } from './index.node.ts';

function notInstalled(specifier: string): never {
  const error = new Error(`Cannot find package '${specifier}' imported from @skipnet/backend`) as Error & {
    code: string;
  };
  error.code = 'ERR_MODULE_NOT_FOUND';
  throw error;
}

/** The real importer, with `absent` packages made to look uninstalled. */
function without(...absent: string[]): ModuleImporter {
  return (specifier) => (absent.includes(specifier) ? notInstalled(specifier) : import(specifier));
}

const NODE_BINDINGS = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

function hasVulkanLoader(): boolean {
  return execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).includes('libvulkan.so.1');
}

afterEach(() => {
  if (tf.findBackend('tensorflow')) tf.removeBackend('tensorflow');
});

describe('selectBackend', () => {
  it('auto passes over what is missing and says why, then takes wasm', async () => {
    const choice = await selectBackend('auto', { importer: without(...NODE_BINDINGS, '@skipnet/webgpu') });
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.passedOver.map((p) => p.name)).toEqual(['tfjs-node-gpu', 'tfjs-node', 'webgpu']);
    expect(choice.passedOver[0]!.reason).toBe('@tensorflow/tfjs-node-gpu is not installed');
    expect(choice.passedOver[2]!.reason).toBe('@skipnet/webgpu is not installed');
  });

  it('auto falls back to cpu when wasm is missing too', async () => {
    const importer = without(...NODE_BINDINGS, '@skipnet/webgpu', '@tensorflow/tfjs-backend-wasm');
    const choice = await selectBackend('auto', { importer });
    expect(choice.name).toBe('cpu');
    expect(choice.passedOver.map((p) => p.name)).toEqual(['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm']);
  });

  it('passes over webgpu when Dawn finds no adapter, with what Dawn said in the reason', async () => {
    const choice = await selectBackend('auto', { importer: without(...NODE_BINDINGS) });
    const webgpu = choice.passedOver.find((p) => p.name === 'webgpu');
    // On a machine with a Vulkan GPU, auto takes webgpu and these expectations do not apply.
    if (choice.name !== 'webgpu') expect(webgpu?.reason).toMatch(/^Dawn found no WebGPU adapter/);
    // Without a Vulkan loader (CI), Dawn's warning, which it writes straight to stderr, is in the reason instead.
    if (!hasVulkanLoader()) {
      expect(webgpu?.reason).toMatch(
        /\(Dawn: Couldn't load Vulkan: libvulkan\.so\.1: cannot open shared object file/,
      );
    }
  });

  it('an explicit webgpu request may take a software adapter, and says it is one', async () => {
    const choice = await selectBackend('webgpu', { importer: without(...NODE_BINDINGS) });
    expect(choice.tfjsBackend).toBe('webgpu');
    // CI has Mesa's software driver and no GPU; a machine with a GPU reports that GPU instead.
    expect(choice.device).toMatch(
      /^(CPU pretending to be a GPU \(WebGPU software adapter|GPU \(WebGPU via Dawn)/,
    );
  });

  it('an explicitly requested backend that is missing is an error with an install hint', async () => {
    const attempt = selectBackend('tfjs-node', { importer: without(...NODE_BINDINGS) });
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(/npm install @tensorflow\/tfjs-node@4\.22\.0/);
  });

  it('never reports a GPU that tfjs-node-gpu is not using', async () => {
    // Stands in for tfjs-node-gpu without CUDA: it registers 'tensorflow', which then runs on the CPU.
    const cpuOnlyBinding: ModuleImporter = async (specifier) => {
      if (specifier !== '@tensorflow/tfjs-node-gpu') return import(specifier);
      tf.registerBackend('tensorflow', () =>
        Object.assign(new MathBackendCPU(), { isUsingGpuDevice: false }),
      );
      return {};
    };
    await expect(selectBackend('tfjs-node-gpu', { importer: cpuOnlyBinding })).rejects.toThrow(
      /silently run on the CPU/,
    );
    const choice = await selectBackend('auto', {
      importer: async (s) => (s === '@tensorflow/tfjs-node' ? notInstalled(s) : cpuOnlyBinding(s)),
    });
    expect(choice.passedOver[0]).toEqual({
      name: 'tfjs-node-gpu',
      reason: 'it loaded, but TensorFlow found no usable GPU and would silently run on the CPU',
    });
  });
});
