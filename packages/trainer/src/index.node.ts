// The Node entry: everything in the core (index.ts), with trainCh6 and progressCallbacks taking Node's options
// (outDir, png, the terminal bar), plus the folder store and the PNG renderer.

export { FolderStore } from './folder-store.ts';
export * from './index.ts';
export { plotPngRenderer, svgToPng } from './plot-png.ts';
export { progressCallbacks } from './progress-bar.ts';
export { type TrainOptions, trainCh6 } from './train-node.ts';
