import type { Module } from '@skipnet/nn';
import type { TrainCallbacks } from './callbacks.ts';
import { FolderStore } from './folder-store.ts';
import { plotPngRenderer } from './plot-png.ts';
import { progressCallbacks } from './progress-bar.ts';
import {
  type TrainOptions as CoreTrainOptions,
  type DataInput,
  type TrainResult,
  trainCh6 as trainCh6Core,
} from './train.ts';

/** The core's options, plus what Node adds: a folder for the run, plot.png, and the bar on a terminal. */
export interface TrainOptions extends Omit<CoreTrainOptions, 'plotPng'> {
  /**
   * Folder for checkpoints, `history.json`, `history.csv`, `epochs.csv`, `plot.svg` and `plot.png`: a
   * `FolderStore` of it. Give this or `store`.
   */
  outDir?: string;
  /**
   * Also write `plot.png`: 'auto' (default) when the optional peer `@resvg/resvg-js` is installed, true to require
   * it, false never.
   */
  png?: boolean | 'auto';
  /** Default 'auto': the bar (on stderr) on a terminal, plain lines otherwise. */
  progress?: CoreTrainOptions['progress'];
}

/**
 * {@link trainCh6Core | the core's trainCh6} in Node: `outDir` becomes a {@link FolderStore}, `png` the plot's
 * PNG renderer, and progress 'auto'/'bar' the cli-progress bar on a terminal. Same loop, same files.
 */
export async function trainCh6(
  model: Module,
  trainData: DataInput,
  testData: DataInput,
  options: TrainOptions,
): Promise<TrainResult> {
  const { outDir, png = 'auto', progress = 'auto', callbacks, ...rest } = options;
  if (outDir !== undefined && rest.store !== undefined) {
    throw new Error('trainCh6: pass outDir or store, not both (outDir is a FolderStore of that folder)');
  }
  const log = rest.log ?? ((line: string) => console.log(line));
  const mine = Array.isArray(callbacks) ? callbacks : callbacks ? [callbacks] : [];
  const plotPng = plotPngRenderer(png);
  const core: CoreTrainOptions = {
    ...rest,
    progress: 'none',
    callbacks: [progressCallbacks(progress, log), ...mine] satisfies TrainCallbacks[],
    ...(plotPng ? { plotPng } : {}),
  };
  if (outDir !== undefined) core.store = new FolderStore(outDir);
  return trainCh6Core(model, trainData, testData, core);
}
