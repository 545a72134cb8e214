import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError, withCheckpoint } from './options.ts';

describe('parseOptions', () => {
  it("defaults to the seed's settings", () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({ backend: 'auto', model: 'seed', lr: 0.01, batchSize: 64, testBatchSize: 128 });
    expect(o.optimizer).toBe('sgd');
    expect(o.momentum).toBe(0);
    expect(o.download).toBe(true);
  });

  it('reads every kind of flag', () => {
    const o = parseOptions([
      '--backend',
      'wasm',
      '--epochs',
      '3',
      '--lr',
      '0.1',
      '--widths',
      '8,16,32,64',
      '--no-download',
      '--resume',
    ]);
    expect(o).toMatchObject({
      backend: 'wasm',
      epochs: 3,
      lr: 0.1,
      widths: [8, 16, 32, 64],
      download: false,
      resume: true,
    });
  });

  it('knows which options the command line gave (on --resume only those override the checkpoint)', () => {
    const o = parseOptions(['--resume', '--lr', '0.001', '--out', 'run']);
    expect([...o.given].sort()).toEqual(['lr', 'out', 'resume']);
    expect(o.momentum).toBe(0); // the default, which a resumed run replaces with the checkpoint's
  });

  it('takes a mirror and its checksum', () => {
    const o = parseOptions([
      '--url',
      'https://example.org/c.tgz',
      '--md5',
      'C32A1D4AB5D03F1284B67883E8D87530',
    ]);
    expect(o).toMatchObject({ url: 'https://example.org/c.tgz', md5: 'c32a1d4ab5d03f1284b67883e8d87530' });
  });

  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['--url', 'ftp://example.org/c.tgz'], /--url takes an http\(s\) URL, got 'ftp:/],
    [['--md5', 'abc'], /--md5 takes 32 hexadecimal digits \(what md5sum prints for the file\), got 'abc'/],
    [['--backend', 'tpu'], /Allowed choices are auto, tfjs-node-gpu, tfjs-node, webgpu, wasm, cpu/],
    [['--epochs', 'two'], /--epochs must be a positive integer, got 'two'/],
    [['--epochs', '0'], /--epochs must be a positive integer/],
    [['--lr', '-1'], /--lr must be a positive number/],
    [['--widths', '8,16'], /--widths takes four positive integers/],
    [['--nesterov'], /--nesterov needs --momentum/],
    [['extra'], /too many arguments/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(UsageError);
    expect(() => parseOptions(argv)).toThrow(message);
  });

  describe('withCheckpoint (on --resume)', () => {
    const saved = {
      model: 'cifar',
      widths: [4, 8, 8, 8],
      subset: null,
      batchSize: 16,
      epochs: 2,
      optimizer: 'sgd',
      lr: 0.05,
      momentum: 0.9,
      nesterov: true,
      schedule: 'onecycle',
      seed: 5,
    };

    it('takes each flag not given from the checkpoint; the flags given win', () => {
      const o = withCheckpoint(parseOptions(['--resume', '--lr', '0.001', '--out', 'run']), saved);
      expect(o).toMatchObject({
        ...saved,
        subset: undefined,
        lr: 0.001,
        imageSize: undefined,
        backend: 'auto',
      });
    });

    it.each([
      [
        { batchSize: 'many' },
        /the checkpoint's --batch-size "many" is not valid: --batch-size must be a positive integer/,
      ],
      [
        { schedule: 'warmupLR' },
        /the checkpoint's --schedule "warmupLR" is not valid: Allowed choices are constant, step/,
      ],
      [{ nesterov: 'yes' }, /the checkpoint's --nesterov "yes" is not valid: it should be true or false/],
    ])(
      'refuses a checkpoint value %j that the flag would refuse, naming the flag to give',
      (bad, message) => {
        const resume = parseOptions(['--resume']);
        expect(() => withCheckpoint(resume, { ...saved, ...bad })).toThrow(UsageError);
        expect(() => withCheckpoint(resume, { ...saved, ...bad })).toThrow(message);
        expect(() => withCheckpoint(resume, { ...saved, ...bad })).toThrow(
          /Give --\S+ on the command line\.$/,
        );
      },
    );

    it('refuses another --batch-size, --subset or --dataset under a onecycle schedule, sized in the run’s steps; takes it under another', () => {
      expect(() => withCheckpoint(parseOptions(['--resume', '--batch-size', '24']), saved)).toThrow(
        /^--resume: --batch-size 24 is not the run's --batch-size 16, and --schedule onecycle is sized in optimizer steps, .* Resume with --batch-size 16, or with a schedule sized in epochs/,
      );
      // --subset changes an epoch's steps as much: on the whole data, or on another subset.
      expect(() => withCheckpoint(parseOptions(['--resume', '--subset', '64']), saved)).toThrow(
        /^--resume: --subset 64 is not the run's --subset all, .* Resume with --subset all,/,
      );
      expect(() =>
        withCheckpoint(parseOptions(['--resume', '--subset', '64']), {
          ...saved,
          subset: 32,
          dataset: 'synthetic',
        }),
      ).toThrow(/^--resume: --subset 64 is not the run's --subset 32,/);
      expect(() =>
        withCheckpoint(parseOptions(['--resume', '--dataset', 'cifar10', '--batch-size', '8']), {
          ...saved,
          dataset: 'synthetic',
        }),
      ).toThrow(
        /^--resume: --dataset cifar10 --batch-size 8 is not the run's --dataset synthetic --batch-size 16,/,
      );
      // The same settings again, given or not, resume.
      expect(withCheckpoint(parseOptions(['--resume', '--batch-size', '16']), saved)).toMatchObject({
        batchSize: 16,
      });
      const o = withCheckpoint(
        parseOptions(['--resume', '--batch-size', '24', '--schedule', 'cosine']),
        saved,
      );
      expect(o).toMatchObject({ batchSize: 24, schedule: 'cosine' });
    });

    it('checks the merged flags together: --nesterov needs the momentum the run has', () => {
      expect(() => withCheckpoint(parseOptions(['--resume', '--momentum', '0']), saved)).toThrow(
        /--nesterov needs --momentum/,
      );
    });
  });
});
