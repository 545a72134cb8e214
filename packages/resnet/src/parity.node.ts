// Node: the replay of parity.ts, reading the fixture from its folder.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ParityReport, type ReplayOptions, replaySeedFixtureBytes } from './parity.ts';

export * from './parity.ts';

/** {@link replaySeedFixtureBytes} on the fixture in `fixtureDir` (weights.safetensors, io.safetensors). */
export function replaySeedFixture(
  fixtureDir: string,
  options: Omit<ReplayOptions, 'label'> = {},
): Promise<ParityReport> {
  const read = (file: string) => new Uint8Array(readFileSync(join(fixtureDir, file)));
  return replaySeedFixtureBytes(
    { weights: read('weights.safetensors'), io: read('io.safetensors') },
    { ...options, label: fixtureDir },
  );
}
