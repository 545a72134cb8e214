import type { CheckpointSettings } from '@skipnet/trainer';
import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  parseSettings,
  runConfig,
  SETTING_NAMES,
  SettingsError,
  settingsEntries,
  withCheckpoint,
} from './settings.ts';

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
    expect(() => parseSettings(query('md5=abc'))).toThrow('md5 takes 32 hexadecimal digits');
    expect(parseSettings(query('md5=C32A1D4AB5D03F1284B67883E8D87530')).md5).toBe(
      'c32a1d4ab5d03f1284b67883e8d87530',
    );
  });
});

describe("Resume: the checkpoint's settings where the user set none", () => {
  // What the trainer records of a run the page started with these settings (runConfig is the page's part).
  const run = parseSettings(
    query('widths=8,16,32,64&image-size=32&subset=256&batch-size=32&lr=0.05&momentum=0.9&seed=3&epochs=2'),
  );
  const saved: CheckpointSettings = {
    kind: 'SGD',
    initialLr: 0.05,
    hyper: { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
    epochs: 2,
    schedule: { name: 'cosineAnnealingLR', tMax: 2, etaMin: 0, interval: 'epoch' },
    seed: 3,
    config: runConfig(run, 32, 'synthetic'),
  };

  it('takes every setting that shapes the run from the checkpoint, and lists each the form had otherwise', () => {
    const { settings, taken } = withCheckpoint({ ...DEFAULTS, backend: 'wasm' }, ['backend'], saved);
    expect(settings).toEqual({ ...run, backend: 'wasm', schedule: 'cosine' });
    expect(taken).toEqual([
      'lr 0.05 (the form had 0.01)',
      'batch-size 32 (the form had 64)',
      'subset 256 (the form had none)',
      'image-size 32 (the form had none)',
      'widths 8,16,32,64 (the form had 64,128,256,512)',
      'momentum 0.9 (the form had 0)',
      'schedule cosine (the form had constant)',
      'seed 3 (the form had 1)',
    ]);
  });

  it('keeps what the user set, and gives a default back where the run had it (no subset)', () => {
    const form = { ...DEFAULTS, epochs: 5, subset: 64 };
    const { settings } = withCheckpoint(form, ['epochs'], {
      ...saved,
      config: { ...saved.config, subset: null },
    });
    expect(settings.epochs).toBe(5);
    expect(settings.subset).toBeUndefined();
    expect(settings.widths).toEqual([8, 16, 32, 64]);
  });

  it('refuses another batch size, subset or dataset under a onecycle schedule, sized in the run’s steps, as the CLI does; takes it under another', () => {
    const cycled: CheckpointSettings = {
      ...saved,
      schedule: { name: 'oneCycleLR', totalSteps: 16, maxLr: 0.05, interval: 'step' },
    };
    expect(() => withCheckpoint({ ...DEFAULTS, batchSize: 24 }, ['batch-size'], cycled)).toThrow(
      SettingsError,
    );
    expect(() => withCheckpoint({ ...DEFAULTS, batchSize: 24 }, ['batch-size'], cycled)).toThrow(
      /^Resume: batch-size 24 is not the run's batch-size 32, and schedule onecycle is sized in optimizer steps, .* Resume with batch-size 32, or with a schedule sized in epochs \(schedule cosine or schedule step\)\.$/,
    );
    // All of the data (no subset) is a subset as much as another number; the dataset changes an epoch too.
    expect(() => withCheckpoint({ ...DEFAULTS, subset: undefined }, ['subset'], cycled)).toThrow(
      /^Resume: subset \(none\) is not the run's subset 256,/,
    );
    expect(() =>
      withCheckpoint({ ...DEFAULTS, dataset: 'cifar10', batchSize: 8 }, ['dataset', 'batch-size'], cycled),
    ).toThrow(/^Resume: dataset cifar10 batch-size 8 is not the run's dataset synthetic batch-size 32,/);
    // The user's onecycle over a run that had another schedule is sized in steps as well.
    expect(() =>
      withCheckpoint({ ...DEFAULTS, schedule: 'onecycle', batchSize: 24 }, ['schedule', 'batch-size'], saved),
    ).toThrow(/^Resume: batch-size 24 is not the run's batch-size 32,/);
    // The run's own settings, set or taken, resume; a schedule sized in epochs takes another batch size.
    expect(withCheckpoint({ ...DEFAULTS, batchSize: 32 }, ['batch-size'], cycled).settings.batchSize).toBe(
      32,
    );
    expect(withCheckpoint(DEFAULTS, [], cycled).settings.schedule).toBe('onecycle');
    const cosine = withCheckpoint(
      { ...DEFAULTS, batchSize: 24, schedule: 'cosine' },
      ['batch-size', 'schedule'],
      cycled,
    );
    expect(cosine.settings).toMatchObject({ batchSize: 24, schedule: 'cosine' });
  });

  it("refuses a checkpoint's value the setting would refuse, naming it", () => {
    const bad = { ...saved, config: { ...saved.config, widths: [8, 16] } };
    expect(() => withCheckpoint(DEFAULTS, [], bad)).toThrow(SettingsError);
    expect(() => withCheckpoint(DEFAULTS, [], bad)).toThrow(
      "Resume: the checkpoint's widths [8,16] is not valid: widths takes four positive integers",
    );
    expect(() => withCheckpoint(DEFAULTS, [], { ...saved, kind: 'Lion' })).toThrow(
      'the checkpoint\'s optimizer "Lion" is not valid: optimizer must be one of sgd, adam, adamw',
    );
  });
});
