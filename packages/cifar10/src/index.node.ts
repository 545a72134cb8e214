// Node's entry: the whole core, plus what needs Node — the per-user disk cache, the resumable download, the
// extraction into the cache, the inter-process lock, and the synthetic set written as files.
import { nodeWorkerHost } from './pool.node.ts';
import { setWorkerHost } from './pool.ts';

export * from './index.ts';
export {
  CIFAR10_URL,
  Cifar10Error,
  defaultDataDir,
  type LoadCifar10Options,
  loadCifar10,
  readCifarFolder,
  TARBALL_NAME,
} from './load.ts';
export type { ProgressMode } from './progress.ts';
export { type LoadSyntheticOptions, loadSynthetic, writeSyntheticCifar } from './synthetic.node.ts';

// batches() prepares batches in worker_threads here (Web Workers in browsers).
setWorkerHost(nodeWorkerHost);
