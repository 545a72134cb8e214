// `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` in Node without @tensorflow/tfjs-node
// (whose native install is not always possible): the same two files tfjs-node writes, `model.json` and
// `weights.bin`, so either can read what the other saved, and a browser can load them over http.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

const SCHEME = 'file://';
const WEIGHTS_FILE = 'weights.bin';

/** Writes `data` to `file` through a temporary name, so a crash never leaves half a file under the real name. */
async function writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, data);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Saves into the folder `dir` (made if missing); refuses to overwrite a model already there. */
function saveHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const modelFile = join(dir, 'model.json');
      if (existsSync(modelFile)) {
        throw new Error(
          `${modelFile} exists: save into another folder, or delete it first to replace that model`,
        );
      }
      await mkdir(dir, { recursive: true });
      const { weightData, weightSpecs, ...rest } = artifacts;
      const modelJSON: tf.io.ModelJSON = {
        ...(rest as Omit<tf.io.ModelJSON, 'weightsManifest'>),
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: weightSpecs ?? [] }],
      };
      const weights = weightData
        ? new Uint8Array(tf.io.CompositeArrayBuffer.join(weightData))
        : new Uint8Array();
      // The weights first and model.json last: a model.json always names complete weights.
      await writeAtomically(join(dir, WEIGHTS_FILE), weights);
      await writeAtomically(modelFile, JSON.stringify(modelJSON));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/** Loads `model.json` and the weight files it names (paths relative to it). */
function loadHandler(modelFile: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const text = await readFile(modelFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new Error(`Cannot read the model ${modelFile}: ${error.code ?? error.message}`);
      });
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(text) as tf.io.ModelJSON;
      } catch (error) {
        throw new Error(`${modelFile} is not a tfjs model.json (${(error as Error).message})`);
      }
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const files = manifest.flatMap((group) => group.paths.map((path) => join(dirname(modelFile), path)));
        const buffers = await Promise.all(
          files.map(async (file) => new Uint8Array(await readFile(file)).buffer),
        );
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/**
 * Registers `file://` URLs with tfjs's save and load routers: `model.save('file://runs/model')` writes
 * `runs/model/model.json` and `weights.bin`; `tf.loadLayersModel('file://runs/model/model.json')` reads them back.
 * Does nothing when `file://` is already handled (by tfjs-node, or an earlier call).
 */
export function registerFileRouter(): void {
  if (tf.io.getSaveHandlers(`${SCHEME}probe`).length > 0) return;
  const path = (url: string | string[]) =>
    typeof url === 'string' && url.startsWith(SCHEME) ? resolve(url.slice(SCHEME.length)) : null;
  // A router answers null for the URLs it does not handle (tfjs's own do; its type leaves that out).
  const none = null as unknown as tf.io.IOHandler;
  tf.io.registerSaveRouter((url) => {
    const dir = path(url);
    return dir === null ? none : saveHandler(dir);
  });
  tf.io.registerLoadRouter((url) => {
    const file = path(url);
    return file === null ? none : loadHandler(file.endsWith('.json') ? file : join(file, 'model.json'));
  });
}
