// The step benchmark page (see step-bench.ts).
import { type BackendName, selectBackend } from '@skipnet/backend';
import { showBackend } from './backend-panel.ts';
import { fail, log, setState, WASM_PATHS } from './page.ts';
import { type StepBench, timeSeedSteps } from './step-bench.ts';

declare global {
  interface Window {
    /** The timings, for automation. */
    benchResult?: StepBench & { device: string };
  }
}

async function main(): Promise<void> {
  setState('running');
  const params = new URLSearchParams(location.search);
  const choice = await selectBackend((params.get('backend') ?? 'wasm') as BackendName, {
    wasmPaths: WASM_PATHS,
  });
  showBackend(choice, log);
  const result = await timeSeedSteps(Number(params.get('batch') ?? 64), Number(params.get('steps') ?? 5));
  log(
    `seed step, batch ${result.batch}: median ${result.medianMs.toFixed(0)} ms (${result.imagesPerSec.toFixed(1)} img/s); ` +
      `steps ${result.stepsMs.map((ms) => ms.toFixed(0)).join(', ')} ms`,
  );
  window.benchResult = { ...result, device: choice.device };
  setState('done');
}

main().catch(fail);
