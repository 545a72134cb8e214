// Tests whose prerequisite may be missing on a developer's machine (a WebGPU adapter) skip there and say why;
// under CI=true, where .ci/run installs every prerequisite, a missing one is a failure instead.

/** The value `setup` resolves to, or why it failed as a reason to skip; under CI=true its error is thrown. */
export async function prerequisite<T>(
  what: string,
  setup: () => Promise<T>,
): Promise<{ value?: T; skipReason?: string }> {
  try {
    return { value: await setup() };
  } catch (error) {
    if (process.env['CI'] === 'true') throw error;
    return { skipReason: `${what} (${(error as Error).message.split('\n')[0]})` };
  }
}

/**
 * For WebGPU test files: `setupWebGPU({ allowSoftware: true })` from @skipnet/webgpu (passed in, so that this
 * package depends on none it tests): a GPU where there is one, else Mesa's software adapter, else a skip reason.
 */
export async function webgpuForTests<T>(
  setupWebGPU: (options: { allowSoftware: true }) => Promise<T>,
): Promise<{ info?: T; skipReason?: string }> {
  const { value, skipReason } = await prerequisite('no WebGPU adapter here', () =>
    setupWebGPU({ allowSoftware: true }),
  );
  return skipReason === undefined ? { info: value! } : { skipReason };
}
