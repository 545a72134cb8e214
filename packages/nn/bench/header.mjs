// Is any header within the limit read in < 1 s and < 100 MB? readSafetensorsHeader on headers of the default
// limit's length (8 MB), hostile and valid, each case in a fresh Node process reading its file from disk, so that
// neither building the header nor another case's garbage counts. Prints a table and whether every case met the
// target (exit 1 if not). Run after a build: `pnpm --filter @skipnet/nn bench`.
//   SIZE=99000000  headers of another length (the reader is then allowed that long a header)
//   MAX_ENTRIES=Infinity  the reader's maxEntries (the cases are built for the default, 100,000)
//   CASES=deep,manyTensors  some cases only;  REPEATS=5  fresh processes per case (median; default 3)
//   IMPL=path/to/index.js  measure another build (one without the maxHeaderBytes option reads any length)
//   COMPARE=path/to/index.js  time another build against this one on 200,000 tensors (13.9 MB of header),
//     alternating in one process (paired A/B, median of 7)
// Time is the process's CPU time during the read (user + system): on a shared machine wall time also counts
// the wait for a core, so it is printed too, with the load average.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DEFAULT_LIMIT = 8_000_000;
const SIZE = Number(process.env.SIZE ?? DEFAULT_LIMIT);
const REPEATS = Number(process.env.REPEATS ?? 3);
const MAX_ENTRIES = Number(process.env.MAX_ENTRIES ?? 100_000);
const TARGET_MS = 1000;
const TARGET_MB = 100;

const zeroSize = '{"dtype":"F32","shape":[0],"data_offsets":[0,0]}';
const maxRank = `{"dtype":"F32","shape":[${Array(64).fill(0).join(',')}],"data_offsets":[0,0]}`;
const ENTRY_LIMIT = 100_000;
// r 64-dimension tensors (about 150 bytes more each than a small one) and 100,000 - r small ones fill SIZE.
const MIXED_RANK_64 = Math.max(0, Math.floor((SIZE - 60 * ENTRY_LIMIT) / (maxRank.length - zeroSize.length)));

/**
 * A header of SIZE bytes: `head`, then the units of each of `units` in turn (up to `count` of each, as many as
 * fit), then `tail` and spaces (the format's padding). In a unit '#' is its number, '@' and '^' its data offsets
 * (two bytes per unit), and '%' as many x (or `pad`) as make the unit `width` bytes; `data` bytes follow the
 * header. `nest` instead fills the header with its opening and closing text around `""`.
 */
const cases = {
  // The probe: {"__metadata__":{"a":{"a":… as deep as the length allows.
  deep: { head: '{"__metadata__":', nest: ['{"a":', '}'], tail: '}' },
  deepArrays: { head: '{"a":', nest: ['[', ']'], tail: '}' },
  flatJunk: { head: '{', units: [{ unit: '"k#":0,' }], tail: '"z":0}' },
  emptyEntries: { head: '{', units: [{ unit: '"k#":{},' }], tail: '"z":{}}' },
  longShape: {
    head: '{"a":{"dtype":"F32","data_offsets":[0,4],"shape":[',
    units: [{ unit: '1,' }],
    tail: '1]}}',
    data: 4,
  },
  longUnknownList: {
    head: '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":[',
    units: [{ unit: '0,' }],
    tail: '0]}}',
    data: 4,
  },
  // As many entries as fit: valid, but rejected at the entry limit.
  manyTensors: { head: '{', units: [{ unit: `"k#":${zeroSize},` }], tail: `"z":${zeroSize}}` },
  manyMetadata: { head: '{"__metadata__":{', units: [{ unit: '"k#":"",' }], tail: '"z":""}}' },
  // 100,000 valid entries and then one fault (a duplicate): read to the end.
  manyTensorsDuplicateLast: {
    head: '{',
    units: [
      { unit: `"k#":${zeroSize},%`, count: ENTRY_LIMIT - 1, width: Math.floor(SIZE / ENTRY_LIMIT), pad: ' ' },
    ],
    tail: `"k0":${zeroSize}}`,
  },
  // Valid headers at both limits: what they describe is the output, kept as JavaScript objects.
  longKey: {
    head: '{"',
    units: [{ unit: 'x' }],
    tail: '":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}',
    data: 4,
  },
  escapes: { head: '{"__metadata__":{"a":"', units: [{ unit: '\\n' }], tail: '"}}' },
  entryLimitTensors: {
    head: '{',
    units: [{ unit: `"k#%":${zeroSize},`, count: ENTRY_LIMIT - 1, width: Math.floor(SIZE / ENTRY_LIMIT) }],
    tail: `"z":${zeroSize}}`,
  },
  entryLimitMetadata: {
    head: '{"__metadata__":{',
    units: [{ unit: '"k#":"%",', count: ENTRY_LIMIT - 1, width: Math.floor(SIZE / ENTRY_LIMIT) }],
    tail: '"z":""}}',
  },
  // Every tensor with the most dimensions a shape may have (64): each dimension is a number kept in the result.
  maxRankTensors: { head: '{', units: [{ unit: `"k#":${maxRank},` }], tail: `"z":${zeroSize}}` },
  // As many 64-dimension tensors as leave room for the rest of the entries as small tensors: the costliest mix.
  maxRankThenSmall: {
    head: '{',
    units: [
      { unit: `"r#":${maxRank},`, count: MIXED_RANK_64 },
      { unit: `"k#":${zeroSize},`, count: ENTRY_LIMIT - 1 - MIXED_RANK_64 },
    ],
    tail: `"z":${zeroSize}}`,
  },
  // Names as a real checkpoint's, every tensor in its own place: the data section is checked too.
  realisticTensors: {
    head: '{',
    units: [
      {
        unit: '"model.layers.#.self_attn.q_proj.weight":{"dtype":"BF16","shape":[1],"data_offsets":[@,^]},',
        count: ENTRY_LIMIT - 1,
      },
    ],
    tail: '"z":{"dtype":"F32","shape":[0],"data_offsets":[^,^]}}',
  },
};

function build({ head, nest, units = [], tail, data = 0 }) {
  const encoder = new TextEncoder();
  const header = new Uint8Array(SIZE);
  let at = 0;
  const put = (text) => {
    at += encoder.encodeInto(text, header.subarray(at)).written;
  };
  put(head);
  let dataEnd = data;
  if (nest) {
    const [open, close] = nest;
    const n = Math.floor((SIZE - head.length - tail.length - 2) / (open.length + close.length));
    for (let i = 0; i < n; i++) put(open);
    put('""');
    for (let i = 0; i < n; i++) put(close);
  } else {
    let i = 0;
    const text = (template, width, pad) => {
      const plain = template
        .replace('#', String(i))
        .replace('@', String(2 * i))
        .replace('^', String(2 * i + 2));
      return width ? plain.replace('%', pad.repeat(Math.max(0, width - plain.length + 1))) : plain;
    };
    for (const { unit, count = Number.POSITIVE_INFINITY, width, pad = 'x' } of units) {
      for (let n = 0; n < count && at + text(unit, width, pad).length + tail.length + 16 < SIZE; n++, i++) {
        put(text(unit, width, pad));
      }
    }
    if (units.some(({ unit }) => unit.includes('^'))) dataEnd = 2 * i;
    put(tail.replaceAll('^', String(dataEnd)));
  }
  header.fill(0x20, at); // the format's padding
  const bytes = new Uint8Array(8 + SIZE + dataEnd);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(SIZE), true);
  bytes.set(header, 8);
  return bytes;
}

async function measureOne(path, impl) {
  const { readSafetensorsHeader } = await import(impl);
  const bytes = readFileSync(path); // a Uint8Array; a copy would count its spare in the peak
  const options = { maxHeaderBytes: Math.max(DEFAULT_LIMIT, SIZE), maxEntries: MAX_ENTRIES };
  // A first read of a small header, so that compiling the reader does not count.
  readSafetensorsHeader(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]), options);
  globalThis.gc();
  const rssBefore = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let outcome;
  try {
    const { tensors, metadata } = readSafetensorsHeader(bytes, options);
    outcome = `accepted: ${Object.keys(tensors).length} tensors, ${Object.keys(metadata).length} metadata`;
  } catch (error) {
    outcome = `${error.name} ${error.code ?? ''}: ${error.message.slice(0, 90)}`;
  }
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs,
      peakExtraMB: Math.max(0, peakRss - rssBefore) / 1e6,
      outcome,
    }),
  );
}

async function compare(other) {
  const { readSafetensorsHeader: ours } = await import(new URL('../dist/index.js', import.meta.url).href);
  const { readSafetensorsHeader: theirs } = await import(pathToFileURL(other).href);
  const encoder = new TextEncoder();
  const parts = ['{'];
  for (let i = 0; i < 200_000; i++)
    parts.push(`"layer${i}.weight":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},`);
  const text = `${parts.join('')}"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`;
  const header = encoder.encode(text);
  const bytes = new Uint8Array(8 + header.length);
  bytes.set(header, 8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  const options = { maxHeaderBytes: 100_000_000, maxEntries: Number.POSITIVE_INFINITY };
  const times = { ours: [], theirs: [] };
  for (let i = 0; i < 7; i++) {
    for (const [name, read] of [
      ['theirs', theirs],
      ['ours', ours],
    ]) {
      const before = process.cpuUsage();
      read(bytes, options);
      const cpu = process.cpuUsage(before);
      times[name].push((cpu.user + cpu.system) / 1000);
    }
  }
  const median = (list) => list.sort((a, b) => a - b)[3].toFixed(0);
  console.log(`load average: ${load()}`);
  console.log(
    `200,000 tensors (${(header.length / 1e6).toFixed(1)} MB of header), CPU time: ${other} ` +
      `${median(times.theirs)} ms, this build ${median(times.ours)} ms (medians of 7, alternating)`,
  );
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const [, , mode, path, impl] = process.argv;
if (mode === 'one') {
  await measureOne(path, impl);
} else if (process.env.COMPARE) {
  await compare(process.env.COMPARE);
} else {
  const implementation = process.env.IMPL
    ? pathToFileURL(process.env.IMPL).href
    : new URL('../dist/index.js', import.meta.url).href;
  const selected = process.env.CASES ? process.env.CASES.split(',') : Object.keys(cases);
  const folder = mkdtempSync(join(tmpdir(), 'skipnet-header-bench-'));
  console.log(`readSafetensorsHeader on ${SIZE}-byte headers, median of ${REPEATS} fresh processes`);
  console.log(`load average before: ${load()}`);
  console.log('| header | CPU time (ms) | wall time (ms) | peak memory beyond the input (MB) | outcome |');
  console.log('| --- | --- | --- | --- | --- |');
  const misses = [];
  try {
    for (const name of selected) {
      const file = join(folder, `${name}.safetensors`);
      writeFileSync(file, build(cases[name]));
      const runs = [];
      for (let i = 0; i < REPEATS; i++) {
        const out = execFileSync(
          process.execPath,
          [
            '--expose-gc',
            '--max-old-space-size=8192',
            fileURLToPath(import.meta.url),
            'one',
            file,
            implementation,
          ],
          { encoding: 'utf8', env: { ...process.env, SIZE: String(SIZE) } },
        );
        runs.push(JSON.parse(out.trim().split('\n').pop()));
      }
      rmSync(file);
      const median = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
      const [cpuMs, wallMs, peakMB] = [median('cpuMs'), median('wallMs'), median('peakExtraMB')];
      if (cpuMs >= TARGET_MS || peakMB >= TARGET_MB) misses.push(name);
      console.log(
        `| ${name} | ${cpuMs.toFixed(0)} | ${wallMs.toFixed(0)} | ${peakMB.toFixed(0)} | ` +
          `${runs[0].outcome.replaceAll('|', '\\|')} |`,
      );
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  console.log(`load average after: ${load()}`);
  if (misses.length > 0) {
    console.log(`Over ${TARGET_MS} ms of CPU or ${TARGET_MB} MB: ${misses.join(', ')}`);
    process.exitCode = 1;
  } else {
    console.log(`Every header of ${SIZE} bytes was read in < ${TARGET_MS} ms of CPU and < ${TARGET_MB} MB.`);
  }
}
