import { afterEach, describe, expect, it } from 'vitest';
import { prerequisite, webgpuForTests } from './prerequisite.node.ts';

const ci = process.env['CI'];
afterEach(() => {
  if (ci === undefined) delete process.env['CI'];
  else process.env['CI'] = ci;
});

describe('a prerequisite of a test file', () => {
  const missing = () => Promise.reject(new Error('no adapter\nsecond line'));

  it('is its value when there', async () => {
    expect(await prerequisite('x', () => Promise.resolve(42))).toEqual({ value: 42 });
    expect(await webgpuForTests(async (options) => ({ adapter: 'a', options }))).toEqual({
      info: { adapter: 'a', options: { allowSoftware: true } },
    });
  });

  it('is a reason to skip on a developer machine', async () => {
    delete process.env['CI'];
    expect(await webgpuForTests(missing)).toEqual({ skipReason: 'no WebGPU adapter here (no adapter)' });
  });

  it('fails under CI=true, where .ci/run installs every prerequisite', async () => {
    process.env['CI'] = 'true';
    await expect(webgpuForTests(missing)).rejects.toThrow('no adapter');
  });
});
