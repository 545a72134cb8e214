// The training page: settings from the URL or the form, Train / Stop / Resume / Download, live progress, the
// d2l-style plot as it trains, and the CLI's lines in the log panel.
import {
  checkpointWeights,
  type History,
  plotSvg,
  type TrainCallbacks,
  TrainingAbortedError,
} from '@skipnet/trainer';
import { showBackend } from './backend-panel.ts';
import { element, fail, log, setState, yieldToBrowser } from './page.ts';
import { backendFor, hasCheckpoint, runTraining, store } from './run.ts';
import { parseSettings, SettingsError, settingsEntries, type TrainSettings } from './settings.ts';

const form = element<HTMLFormElement>('settings');
const buttons = {
  train: element<HTMLButtonElement>('train'),
  stop: element<HTMLButtonElement>('stop'),
  resume: element<HTMLButtonElement>('resume'),
  download: element<HTMLButtonElement>('download'),
};

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

function pickedFiles(): File[] {
  return [...((form.elements.namedItem('files') as HTMLInputElement).files ?? [])];
}

function showDatasetFields(): void {
  const cifar = (form.elements.namedItem('dataset') as HTMLSelectElement).value === 'cifar10';
  for (const label of form.querySelectorAll<HTMLElement>('[data-for="cifar10"]')) label.hidden = !cifar;
}

/** Progress bar, rate and the live plot, fed by the trainer's callbacks. */
function liveView(settings: TrainSettings, title: string): TrainCallbacks {
  const bar = element<HTMLProgressElement>('progress');
  const label = element('progress-label');
  const rate = element('progress-rate');
  const plot = element('plot');
  let history: History = { points: [], epochs: [] };
  let epochs = settings.epochs;
  let lastRead = 0;
  const draw = () => {
    plot.innerHTML = plotSvg(history, { epochs, title });
  };
  return {
    onTrainStart: (info) => {
      epochs = info.epochs;
      draw();
    },
    onEpochStart: (info) => {
      bar.max = info.batches ?? 1;
      bar.value = info.skip;
      label.textContent = `epoch ${info.epoch + 1}/${info.epochs}`;
    },
    onBatchEnd: async (b) => {
      bar.max = b.batches ?? Math.max(bar.max, b.batch);
      bar.value = b.batch;
      const every = b.batches === null ? null : Math.max(1, Math.floor(b.batches / 5));
      // The Animator's five points an epoch go on the plot; the numbers beside the bar at most twice a second.
      const point = every !== null && (b.batch % every === 0 || b.batch === b.batches);
      if (point || performance.now() - lastRead > 500) {
        lastRead = performance.now();
        const m = await b.metrics();
        label.textContent = `epoch ${b.epoch + 1}/${epochs}, batch ${b.batch}/${b.batches ?? '?'}, loss ${m.trainLoss.toFixed(3)}, train acc ${m.trainAcc.toFixed(3)}`;
        rate.textContent = `${m.examplesPerSec.toFixed(1)} img/s`;
        if (point) {
          history.points.push({
            epoch: b.epoch + b.batch / b.batches!,
            trainLoss: m.trainLoss,
            trainAcc: m.trainAcc,
          });
          draw();
        }
      }
      await yieldToBrowser();
    },
    onEvaluateStart: (info) => {
      label.textContent = `epoch ${info.epoch + 1}/${epochs}: evaluating on the test set`;
      return yieldToBrowser();
    },
    onEpochEnd: (info) => {
      history = structuredClone(info.history);
      draw();
      return yieldToBrowser();
    },
  };
}

let controller: AbortController | null = null;

async function updateButtons(running: boolean): Promise<void> {
  const saved = running ? false : await hasCheckpoint();
  buttons.train.disabled = running;
  buttons.stop.disabled = !running;
  buttons.resume.disabled = running || !saved;
  buttons.download.disabled = running || !saved;
  for (const field of form.elements) (field as HTMLInputElement).disabled = running;
  element('saved').textContent = saved ? `a run is saved in this browser (${store.location})` : '';
}

async function train(resume: boolean, settings: TrainSettings, confirmReplace: boolean): Promise<void> {
  if (!resume && confirmReplace && (await hasCheckpoint())) {
    if (
      !confirm(
        'Train starts a new run and replaces the one saved in this browser. Resume continues it. Replace it?',
      )
    ) {
      return;
    }
  }
  controller = new AbortController();
  await updateButtons(true);
  setState('running');
  element('log').textContent = '';
  try {
    showBackend(await backendFor(settings.backend), log);
    const title = `${settings.model === 'seed' ? 'seed ResNet' : 'CIFAR ResNet'}`;
    await runTraining(settings, { files: pickedFiles() }, resume, {
      log,
      signal: controller.signal,
      callbacks: liveView(settings, title),
      onData: (dataset) => {
        const banner = element('banner');
        banner.hidden = dataset.name !== 'synthetic';
        banner.textContent =
          'SYNTHETIC data: the built-in set of shapes and textures, not CIFAR-10. Its numbers say nothing about CIFAR-10; pick the CIFAR-10 files (or a URL) to train on it.';
      },
    });
    setState('done');
  } catch (error) {
    if (error instanceof TrainingAbortedError) {
      log(`stopped: ${error.message}`);
      setState('done');
    } else {
      fail(error);
    }
  } finally {
    controller = null;
    await updateButtons(false);
  }
}

async function download(): Promise<void> {
  const bytes = await checkpointWeights(store);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
  );
  link.download = 'weights.safetensors';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  log(
    `downloaded weights.safetensors (${bytes.length.toLocaleString('en')} bytes, PyTorch names and layouts)`,
  );
}

function start(resume: boolean): void {
  let settings: TrainSettings;
  try {
    settings = readForm();
  } catch (error) {
    fail(error);
    return;
  }
  void train(resume, settings, true);
}

buttons.train.addEventListener('click', () => start(false));
buttons.resume.addEventListener('click', () => start(true));
buttons.stop.addEventListener('click', () => {
  log('stopping after this batch (the run is saved, Resume continues it)');
  controller?.abort();
});
buttons.download.addEventListener('click', () => void download().catch(fail));
form.elements.namedItem('dataset')?.addEventListener('change', showDatasetFields);

const params = new URLSearchParams(location.search);
try {
  const settings = parseSettings(params, ['autostart']);
  fillForm(settings);
  await updateButtons(false);
  if (params.get('autostart') === '1') await train(false, settings, false);
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  fillForm(parseSettings([]));
  fail(error);
}
