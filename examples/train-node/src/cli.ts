#!/usr/bin/env node
import { main } from './main.ts';

// Ctrl-C once: finish the batch, save a checkpoint, exit 130. Twice: stop at once.
const controller = new AbortController();
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(130);
  console.error('\nstopping after this batch (Ctrl-C again to quit at once)…');
  controller.abort();
});

// `pnpm train -- --epochs 1` hands the script a leading `--`.
const args = process.argv.slice(2);
if (args[0] === '--') args.shift();

main(args, undefined, controller.signal).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
