// The messages between the page (main.ts) and the training worker (train-worker.ts).
import type { BackendChoice } from '@skipnet/backend';
import type { TrainSettings } from './settings.ts';

export type ToWorker =
  /** `given`: the settings the user set (in the URL, or changed in the form), which win over a checkpoint's. */
  | { type: 'train'; settings: TrainSettings; files: File[]; resume: boolean; given: string[] }
  | { type: 'stop' }
  | { type: 'weights' }
  | { type: 'saved?' };

export type FromWorker =
  | { type: 'log'; line: string }
  | { type: 'backend'; choice: BackendChoice }
  /** The settings the run trains with (on Resume, the checkpoint's where the user set none). */
  | { type: 'settings'; settings: TrainSettings }
  | { type: 'dataset'; synthetic: boolean }
  | { type: 'progress'; label: string; value: number; max: number; rate: string }
  | { type: 'plot'; svg: string }
  | { type: 'finished'; outcome: 'done' | 'stopped' | 'error'; message: string | null }
  | { type: 'weights'; bytes: Uint8Array | null; message: string | null }
  | { type: 'saved'; saved: boolean };
