import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from './options.ts';

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
});
