// The messages between the page (main.ts) and the training worker (train-worker.ts).
import type { BackendChoice } from '@skipnet/backend';
import type { TrainSettings } from './settings.ts';

export type ToWorker =
  | { type: 'train'; settings: TrainSettings; files: File[]; resume: boolean }
  | { type: 'stop' }
  | { type: 'weights' }
  | { type: 'saved?' };

export type FromWorker =
  | { type: 'log'; line: string }
  | { type: 'backend'; choice: BackendChoice }
  | { type: 'dataset'; synthetic: boolean }
  | { type: 'progress'; label: string; value: number; max: number; rate: string }
  | { type: 'plot'; svg: string }
  | { type: 'finished'; outcome: 'done' | 'stopped' | 'error'; message: string | null }
  | { type: 'weights'; bytes: Uint8Array | null; message: string | null }
  | { type: 'saved'; saved: boolean };
