import type { TrainCallbacks } from './callbacks.ts';
import { epochsToCsv, type History, historyToCsv } from './history.ts';
import { plotSvg } from './plot.ts';
import type { RunStore } from './store.ts';

/**
 * Renders the plot's SVG as PNG bytes, or null when this platform cannot (the file is then skipped). The Node
 * entry's comes from the optional peer `@resvg/resvg-js`; in a browser, a canvas can do it.
 */
export type PlotPngRenderer = (svg: string) => Promise<Uint8Array | null>;

/** Options of {@link writeReports}. */
export interface ReportOptions {
  /** Total epochs of the run (the plot's x axis). */
  epochs?: number;
  /** The plot's title. */
  title?: string | undefined;
  /** Also writes `plot.png`. */
  plotPng?: PlotPngRenderer | undefined;
}

/** Writes `history.json`, `history.csv`, `epochs.csv`, `plot.svg` (and `plot.png`) into `store`, each atomically. */
export async function writeReports(
  store: RunStore,
  history: History,
  options: ReportOptions = {},
): Promise<void> {
  await store.write('history.json', `${JSON.stringify(history, null, 1)}\n`);
  await store.write('history.csv', historyToCsv(history));
  await store.write('epochs.csv', epochsToCsv(history));
  const svg = plotSvg(history, { epochs: options.epochs, title: options.title });
  await store.write('plot.svg', svg);
  const png = await options.plotPng?.(svg);
  if (png) await store.write('plot.png', png);
}

/** The reports as a callback: rewritten after every epoch, after its checkpoint. */
export function reportCallbacks(store: RunStore, options: ReportOptions): TrainCallbacks {
  return { onEpochEnd: ({ history }) => writeReports(store, history, options) };
}
