// Packs every publishable package once per run, for both test files: the npm install and the published shape.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { packAll } from './pack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The packed tarballs by package name, in a temporary folder removed after the run. */
    tarballs: Record<string, string>;
  }
}

export default function setup(project: TestProject): () => void {
  const destination = mkdtempSync(join(tmpdir(), 'skipnet-pack-'));
  project.provide('tarballs', packAll(destination));
  return () => rmSync(destination, { recursive: true, force: true });
}
