// What both pages share: the log panel (every line also to console.log, for automation), the page's state
// (document.body.dataset.state: running, done or error), and where the built site serves tfjs's .wasm files.

import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** tfjs-backend-wasm's three builds, as Vite emits them (hashed names): a bundler does not copy them by itself. */
export const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': plain,
  'tfjs-backend-wasm-simd.wasm': simd,
  'tfjs-backend-wasm-threaded-simd.wasm': threadedSimd,
};

export type PageState = 'idle' | 'running' | 'done' | 'error';

export function setState(state: PageState): void {
  document.body.dataset['state'] = state;
}

export function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

/** Appends `line` to the log panel and writes it to the console. */
export function log(line: string): void {
  console.log(line);
  const panel = element('log');
  const atBottom = panel.scrollTop + panel.clientHeight >= panel.scrollHeight - 4;
  panel.append(`${line}\n`);
  if (atBottom) panel.scrollTop = panel.scrollHeight;
}

/** Logs an error's message (each of its lines) and puts the page in the error state. */
export function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  for (const line of message.split('\n')) log(`error: ${line}`);
  setState('error');
}
