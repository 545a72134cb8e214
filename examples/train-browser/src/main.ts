// The training page: settings from the URL or the form, Train / Stop / Resume / Download, live progress, the
// d2l-style plot as it trains, and the CLI's lines in the log panel. The training runs in a worker
// (train-worker.ts); this page only draws what it reports.
import { showBackend } from './backend-panel.ts';
import { element, fail, log, setState } from './page.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { parseSettings, SettingsError, settingsEntries, type TrainSettings } from './settings.ts';

const form = element<HTMLFormElement>('settings');
const buttons = {
  train: element<HTMLButtonElement>('train'),
  stop: element<HTMLButtonElement>('stop'),
  resume: element<HTMLButtonElement>('resume'),
  download: element<HTMLButtonElement>('download'),
};
const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
const send = (message: ToWorker) => worker.postMessage(message);

let running = false;
let saved = false;
/**
 * The settings the user set: named in the URL, or changed in the form. On Resume these win over the checkpoint's
 * (as the CLI's flags given with --resume); the others are the checkpoint's.
 */
const given = new Set<string>();

function fillForm(s: TrainSettings): void {
  for (const [name, value] of settingsEntries(s)) {
    const field = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
    if (field) field.value = value;
  }
  showDatasetFields();
}

function readForm(): TrainSettings {
  const entries: Array<[string, string]> = [];
  for (const [name, value] of new FormData(form)) if (typeof value === 'string') entries.push([name, value]);
  return parseSettings(entries);
}

function showDatasetFields(): void {
  const cifar = (form.elements.namedItem('dataset') as HTMLSelectElement).value === 'cifar10';
  for (const label of form.querySelectorAll<HTMLElement>('[data-for="cifar10"]')) label.hidden = !cifar;
}

function updateButtons(): void {
  buttons.train.disabled = running;
  buttons.stop.disabled = !running;
  buttons.resume.disabled = running || !saved;
  buttons.download.disabled = running || !saved;
  for (const field of form.elements) (field as HTMLInputElement).disabled = running;
  element('saved').textContent = saved ? 'a run is saved in this browser (IndexedDB)' : '';
}

function start(resume: boolean, settings: TrainSettings, askFirst: boolean): void {
  if (!resume && askFirst && saved) {
    const replace = confirm(
      'Train starts a new run and replaces the one saved in this browser; Resume continues it. Replace it?',
    );
    if (!replace) return;
  }
  running = true;
  updateButtons();
  setState('running');
  element('log').textContent = '';
  const files = [...((form.elements.namedItem('files') as HTMLInputElement).files ?? [])];
  send({ type: 'train', settings, files, resume, given: [...given] });
}

function startFromForm(resume: boolean): void {
  try {
    start(resume, readForm(), true);
  } catch (error) {
    fail(error);
  }
}

function download(bytes: Uint8Array): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
  );
  link.download = 'weights.safetensors';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  log(
    `downloaded weights.safetensors (${bytes.length.toLocaleString('en')} bytes: PyTorch names and layouts)`,
  );
}

worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'log':
      log(m.line);
      break;
    case 'backend':
      showBackend(m.choice, log);
      break;
    case 'settings':
      fillForm(m.settings);
      break;
    case 'dataset': {
      const banner = element('banner');
      banner.hidden = !m.synthetic;
      banner.textContent =
        'SYNTHETIC data: the built-in set of shapes and textures, not CIFAR-10. Its numbers say nothing about ' +
        'CIFAR-10; pick the CIFAR-10 files (or give a URL) to train on it.';
      break;
    }
    case 'progress': {
      const bar = element<HTMLProgressElement>('progress');
      bar.max = m.max;
      bar.value = m.value;
      element('progress-label').textContent = m.label;
      element('progress-rate').textContent = m.rate;
      break;
    }
    case 'plot':
      element('plot').innerHTML = m.svg;
      break;
    case 'finished':
      running = false;
      if (m.outcome === 'error') fail(new Error(m.message ?? 'training failed'));
      else {
        if (m.outcome === 'stopped') log(`stopped: ${m.message}`);
        setState('done');
      }
      updateButtons();
      break;
    case 'weights':
      if (m.bytes) download(m.bytes);
      else fail(new Error(m.message ?? 'no checkpoint to download'));
      break;
    case 'saved':
      saved = m.saved;
      updateButtons();
      break;
  }
});
worker.addEventListener('error', (event) => fail(new Error(`the training worker failed: ${event.message}`)));

buttons.train.addEventListener('click', () => startFromForm(false));
buttons.resume.addEventListener('click', () => startFromForm(true));
buttons.stop.addEventListener('click', () => {
  log('stopping after this batch (the run is saved; Resume continues it)');
  send({ type: 'stop' });
});
buttons.download.addEventListener('click', () => send({ type: 'weights' }));
(form.elements.namedItem('dataset') as HTMLSelectElement).addEventListener('change', showDatasetFields);
for (const type of ['input', 'change']) {
  form.addEventListener(type, (event) => {
    const name = (event.target as HTMLInputElement).name;
    if (name) given.add(name);
  });
}

const params = new URLSearchParams(location.search);
send({ type: 'saved?' });
try {
  const settings = parseSettings(params, ['autostart']);
  for (const name of params.keys()) given.add(name);
  fillForm(settings);
  updateButtons();
  if (params.get('autostart') === '1') start(false, settings, false);
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  fillForm(parseSettings([]));
  fail(error);
}
