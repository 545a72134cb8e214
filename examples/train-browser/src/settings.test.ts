import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseSettings, SETTING_NAMES, settingsEntries } from './settings.ts';

const query = (q: string) => [...new URLSearchParams(q)];

describe('the page settings', () => {
  it('reads the URL of the browser test, names as the CLI flags', () => {
    const s = parseSettings(
      query(
        'backend=wasm&model=seed&widths=8,16,32,64&dataset=synthetic&epochs=1&subset=256&batch-size=32&seed=1&autostart=1',
      ),
      ['autostart'],
    );
    expect(s).toEqual({
      ...DEFAULTS,
      backend: 'wasm',
      widths: [8, 16, 32, 64],
      epochs: 1,
      subset: 256,
      batchSize: 32,
      seed: 1,
    });
  });

  it('keeps the defaults for missing and empty values, and round-trips through entries', () => {
    expect(parseSettings(query('epochs=&lr='))).toEqual(DEFAULTS);
    const s = parseSettings(query('optimizer=adamw&weight-decay=0.05&image-size=64&schedule=cosine'));
    expect(parseSettings(settingsEntries(s))).toEqual(s);
    expect(settingsEntries(s).map(([name]) => name)).toEqual([...SETTING_NAMES]);
  });

  it('says what is wrong and what the setting takes', () => {
    expect(() => parseSettings(query('epochs=0'))).toThrow("epochs must be a positive integer, got '0'.");
    expect(() => parseSettings(query('backend=tfjs-node'))).toThrow(
      "backend must be one of auto, webgpu, wasm, cpu, got 'tfjs-node'.",
    );
    expect(() => parseSettings(query('widths=8,16'))).toThrow('widths takes four positive integers');
    expect(() => parseSettings(query('lr=0'))).toThrow("lr must be a positive number, got '0'.");
    expect(() => parseSettings(query('batchsize=32'))).toThrow("unknown setting 'batchsize'");
  });
});
