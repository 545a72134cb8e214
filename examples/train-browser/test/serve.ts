// The tests' static server: the built site from dist/ on 127.0.0.1, with the cross-origin-isolation headers of
// the dev server (so threads work), and extra folders mounted under a path (the PyTorch fixtures).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { ISOLATION_HEADERS } from '../vite.config.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export interface Site {
  url: string;
  close(): Promise<void>;
}

/** Serves `root` (and each of `mounts`: URL prefix → folder) until `close()`. */
export async function serveSite(root: string, mounts: Record<string, string> = {}): Promise<Site> {
  const folders = [...Object.entries(mounts), ['/', root] as const];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    const [prefix, folder] = folders.find(([p]) => path.startsWith(p))!;
    const relative = normalize(path.slice(prefix.length)).replace(/^(\.\.[/\\])+/, '');
    let file = resolve(folder, relative);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(resolve(folder)) || !existsSync(file)) {
      response.writeHead(404, ISOLATION_HEADERS).end(`${path}: not found`);
      return;
    }
    response.writeHead(200, {
      ...ISOLATION_HEADERS,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': 'no-store',
    });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
