#!/usr/bin/env node
// The check that runs on the GPU machine (scripts/gpu-check.sh; see gpu-report.ts for what it prints).
// `--tiny` runs every section at a size a software adapter manages, to check the script where there is no GPU.
import { parseArgs } from 'node:util';
import type { FilterGradientMethod } from '@skipnet/webgpu';
import { FULL_CHECK, type GpuCheckOptions, gpuCheck, TINY_CHECK } from './gpu-report.ts';

function options(): GpuCheckOptions {
  const { values } = parseArgs({
    options: {
      fixtures: { type: 'string', default: 'fixtures/seed-resnet-narrow' },
      tiny: { type: 'boolean', default: false },
      batches: { type: 'string' },
      steps: { type: 'string' },
      'profile-batch': { type: 'string' },
      'allow-software': { type: 'boolean' },
      'filter-gradient': { type: 'string' },
    },
  });
  const base = values.tiny ? TINY_CHECK : FULL_CHECK;
  const numbers = (text: string | undefined, flag: string) => {
    if (text === undefined) return undefined;
    const list = text.split(',').map(Number);
    if (!list.every((n) => Number.isInteger(n) && n > 0)) {
      throw new Error(`--${flag}: want positive integers separated by commas, got '${text}'`);
    }
    return list;
  };
  return {
    ...base,
    fixtures: values.fixtures,
    batches: numbers(values.batches, 'batches') ?? base.batches,
    steps: numbers(values.steps, 'steps')?.[0] ?? base.steps,
    profileBatch: numbers(values['profile-batch'], 'profile-batch')?.[0] ?? base.profileBatch,
    allowSoftware: values['allow-software'] ?? base.allowSoftware,
    filterGradients:
      (values['filter-gradient']?.split(',') as FilterGradientMethod[] | undefined) ?? base.filterGradients,
  };
}

gpuCheck(options(), (...lines) => console.log(lines.join('\n'))).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
