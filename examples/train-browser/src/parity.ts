// The parity page: the PyTorch fixture replay of the repository's test support (packages/test-support), on the
// backend this page picks.
import { type BackendName, selectBackend } from '@skipnet/backend';
import { seedResNet } from '@skipnet/resnet';
import {
  type ParityReport,
  type ParityRow,
  replaySeedFixtureBytes,
  summarizeParity,
} from '@skipnet/test-support';
import { showBackend } from './backend-panel.ts';
import { element, fail, log, setState, WASM_PATHS } from './page.ts';

declare global {
  interface Window {
    /** The replay's report, for automation. */
    parityReport?: ParityReport;
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

function widthsFrom(value: string): [number, number, number, number] {
  const widths = value.split(/[,-]/).map(Number);
  if (widths.length !== 4 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new Error(`widths takes four positive integers such as 8,16,32,64, got '${value}'`);
  }
  return widths as [number, number, number, number];
}

function showRows(rows: ParityRow[]): void {
  const table = element<HTMLTableElement>('parity');
  table.innerHTML =
    '<tr><th>check</th><th>tensors</th><th>max relative error</th><th>tolerance</th><th></th></tr>';
  for (const r of rows) {
    const tr = table.insertRow();
    for (const cell of [
      r.check,
      String(r.tensors),
      r.maxRelativeError.toExponential(2),
      r.tolerance.toExponential(0),
      r.ok ? 'ok' : 'FAIL',
    ]) {
      tr.insertCell().textContent = cell;
    }
    tr.className = r.ok ? 'ok' : 'fail';
  }
}

async function main(): Promise<void> {
  setState('running');
  const params = new URLSearchParams(location.search);
  const backend = (params.get('backend') ?? 'auto') as BackendName | 'auto';
  const fixture = new URL(params.get('fixture') ?? '/fixtures/seed-resnet-narrow/', location.href).href;
  const widths = widthsFrom(params.get('widths') ?? '8,16,32,64');
  const choice = await selectBackend(backend, { wasmPaths: WASM_PATHS });
  showBackend(choice, log);
  log(`fixture: ${fixture} (widths ${widths.join(',')})`);
  const [weights, io] = await Promise.all([
    fetchBytes(new URL('weights.safetensors', fixture).href),
    fetchBytes(new URL('io.safetensors', fixture).href),
  ]);
  const started = performance.now();
  const model = seedResNet({ widths });
  const report = await replaySeedFixtureBytes({ weights, io }, model, { label: fixture });
  model.dispose();
  const rows = summarizeParity(report.entries);
  showRows(rows);
  for (const r of rows) {
    log(
      `${r.check}: ${r.tensors} tensors, max relative error ${r.maxRelativeError.toExponential(2)} ` +
        `(tolerance ${r.tolerance.toExponential(0)}) ${r.ok ? 'ok' : 'FAIL'}`,
    );
  }
  log(`replayed in ${((performance.now() - started) / 1000).toFixed(1)} s on ${choice.name}`);
  window.parityReport = report;
  setState(rows.every((r) => r.ok) ? 'done' : 'error');
}

main().catch(fail);
