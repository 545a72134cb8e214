import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

// Threads for the wasm backend need SharedArrayBuffer, which browsers give only to cross-origin-isolated pages:
// the dev server and `vite preview` send these on every response (the tests' static server does the same).
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * tfjs-backend-wasm starts its threads' workers from `factory.toString()` of the threaded glue, and that function
 * reads `_scriptDir` from the scope around it. A minifier renames that variable (to `e`), so every worker dies with
 * "e is not defined" and the backend never starts. Keeping it on `globalThis`, where a minifier leaves the name
 * alone, makes the function self-contained again.
 */
const tfjsWasmThreadsSurviveMinify: Plugin = {
  name: 'tfjs-wasm-threads-survive-minify',
  transform(code, id) {
    if (!id.includes('tfjs-backend-wasm-threaded-simd.js')) return null;
    return code
      .replace(/(?<![.\w$])_scriptDir\b/g, 'globalThis._scriptDir')
      .replace('var globalThis._scriptDir =', 'globalThis._scriptDir =');
  },
};

export default defineConfig({
  plugins: [tfjsWasmThreadsSurviveMinify],
  // The workspace's packages from source, so that `pnpm dev` works in a fresh clone without a build; the
  // source condition nests the same Node/browser split as the published exports, and a page gets the browser side.
  resolve: { conditions: ['@skipnet/source', ...defaultClientConditions] },
  server: { headers: ISOLATION_HEADERS },
  // The dev server pre-bundles what it finds from these; the worker's imports (the backends, loaded when Train
  // is pressed) must be among them, or their late discovery reloads the page in the middle of the first run.
  optimizeDeps: { entries: ['index.html', 'parity.html', 'bench.html', 'src/train-worker.ts'] },
  preview: { headers: ISOLATION_HEADERS },
  // The training runs in a module worker (src/train-worker.ts), split into chunks as the pages are.
  worker: { format: 'es', plugins: () => [tfjsWasmThreadsSurviveMinify] },
  build: {
    target: 'es2022',
    rolldownOptions: { input: { main: 'index.html', parity: 'parity.html', bench: 'bench.html' } },
  },
});
