// Time and memory of readSafetensorsHeader on headers at the format's size limit (100 MB), hostile and valid, each
// in a fresh Node process so that one case's garbage does not count against the next. Run after a build:
// `pnpm --filter @skipnet/nn bench`. CASES=deep,flat picks cases; IMPL=path/to/index.js measures another build;
// COMPARE=path/to/index.js times another build against this one on a 200,000-tensor header, alternating in one
// process (paired A/B, median of 7).
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SIZE = 99_000_000; // bytes of header, under the 100,000,000 limit
const REPEATS = Number(process.env.REPEATS ?? 3);

/** Header text made of a head, a unit repeated to fill SIZE, and a tail; `data` bytes follow the header. */
const cases = {
  // The probe: {"__metadata__":{"a":{"a":… about 16 million levels.
  deep: { head: '{"__metadata__":', unit: ['{"a":', '}'], tail: '}' },
  deepArrays: { head: '{"a":', unit: ['[', ']'], tail: '}' },
  flatJunk: { head: '{', unit: '"k#":0,', tail: '"z":0}' },
  emptyEntries: { head: '{', unit: '"k#":{},', tail: '"z":{}}' },
  longShape: {
    head: '{"a":{"dtype":"F32","data_offsets":[0,4],"shape":[',
    unit: '1,',
    tail: '1]}}',
    data: 4,
  },
  longUnknownList: {
    head: '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":[',
    unit: '0,',
    tail: '0]}}',
    data: 4,
  },
  longKey: { head: '{"', unit: 'x', tail: '":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', data: 4 },
  // Valid headers at the limit: what they describe is the output, and costs in proportion.
  manyMetadata: { head: '{"__metadata__":{', unit: '"k#":"",', tail: '"z":""}}' },
  escapes: { head: '{"__metadata__":{"a":"', unit: '\\n', tail: '"}}' },
  manyTensors: {
    head: '{',
    unit: '"k#":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},',
    tail: '"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}',
  },
  // The same, with its one fault (a duplicate) at the very end.
  manyTensorsDuplicateLast: {
    head: '{',
    unit: '"k#":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},',
    tail: '"k0":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}',
  },
};

function build({ head, unit, tail, data = 0 }) {
  const encoder = new TextEncoder();
  const bytes = new Uint8Array(8 + SIZE + data);
  let at = 8;
  const put = (text) => {
    at += encoder.encodeInto(text, bytes.subarray(at)).written;
  };
  put(head);
  if (Array.isArray(unit)) {
    // Nesting: opens, then as many closes, sized to fill the header.
    const [open, close] = unit;
    const n = Math.floor((SIZE - head.length - tail.length - 2) / (open.length + close.length));
    for (let i = 0; i < n; i++) put(open);
    put('""');
    for (let i = 0; i < n; i++) put(close);
  } else {
    for (let i = 0; at + unit.length + 12 + tail.length < 8 + SIZE; i++) put(unit.replace('#', String(i)));
  }
  put(tail);
  bytes.fill(0x20, at, 8 + SIZE); // the format's padding
  new DataView(bytes.buffer).setBigUint64(0, BigInt(SIZE), true);
  return bytes;
}

async function measureOne(name, impl) {
  const { readSafetensorsHeader } = await import(impl);
  const bytes = build(cases[name]);
  globalThis.gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  let outcome;
  try {
    const { tensors, metadata } = readSafetensorsHeader(bytes);
    outcome = `accepted: ${Object.keys(tensors).length} tensors, ${Object.keys(metadata).length} metadata`;
  } catch (error) {
    outcome = `${error.name} ${error.code ?? ''}: ${error.message.slice(0, 90)}`;
  }
  const ms = performance.now() - start;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const heapAfter = process.memoryUsage().heapUsed;
  console.log(
    JSON.stringify({
      ms,
      peakExtraMB: (peakRss - rssBefore) / 1e6,
      heapMB: (heapAfter - heapBefore) / 1e6,
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
  const times = { ours: [], theirs: [] };
  for (let i = 0; i < 7; i++) {
    for (const [name, read] of [
      ['theirs', theirs],
      ['ours', ours],
    ]) {
      const start = performance.now();
      read(bytes);
      times[name].push(performance.now() - start);
    }
  }
  const median = (list) => list.sort((a, b) => a - b)[3].toFixed(0);
  console.log(
    `load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `200,000 tensors (${(header.length / 1e6).toFixed(1)} MB of header): ${other} ${median(times.theirs)} ms, ` +
      `this build ${median(times.ours)} ms (medians of 7, alternating)`,
  );
}

const [, , mode, name, impl] = process.argv;
if (mode === 'one') {
  await measureOne(name, impl);
} else if (process.env.COMPARE) {
  await compare(process.env.COMPARE);
} else {
  const implementation = process.env.IMPL
    ? pathToFileURL(process.env.IMPL).href
    : new URL('../dist/index.js', import.meta.url).href;
  const selected = process.env.CASES ? process.env.CASES.split(',') : Object.keys(cases);
  console.log(`readSafetensorsHeader on ${SIZE}-byte headers, median of ${REPEATS} fresh processes`);
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log('| header | time (ms) | peak memory beyond the input (MB) | outcome |');
  console.log('| --- | --- | --- | --- |');
  for (const name of selected) {
    const runs = [];
    for (let i = 0; i < REPEATS; i++) {
      const out = execFileSync(
        process.execPath,
        [
          '--expose-gc',
          '--max-old-space-size=8192',
          fileURLToPath(import.meta.url),
          'one',
          name,
          implementation,
        ],
        { encoding: 'utf8' },
      );
      runs.push(JSON.parse(out.trim().split('\n').pop()));
    }
    const median = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    console.log(
      `| ${name} | ${median('ms').toFixed(0)} | ${median('peakExtraMB').toFixed(0)} | ${runs[0].outcome.replaceAll('|', '\\|')} |`,
    );
  }
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}
