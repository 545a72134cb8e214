// turbo caches each package's `test` and `typecheck` by the files it hashes. Tests and typechecks read sibling
// packages' `src` through the `@skipnet/source` condition, so each must hash the sources of every workspace
// package it depends on, directly or not; otherwise a change in nn replays a stale green for resnet. turbo's
// "transit node" (a script-less `transit` task that depends on `^transit`) carries those hashes; this checks, on
// turbo's own dry run, that every such task reaches every package it reads.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..');

function workspaceManifests() {
  return ['packages', 'examples'].flatMap((folder) =>
    readdirSync(join(root, folder), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => JSON.parse(readFileSync(join(root, folder, entry.name, 'package.json'), 'utf8'))),
  );
}

/** Every workspace package `name` depends on (dependencies, devDependencies, optional), directly or not. */
function workspaceClosure(name, manifests) {
  const byName = new Map(manifests.map((m) => [m.name, m]));
  const seen = new Set();
  const visit = (n) => {
    const m = byName.get(n);
    const deps = { ...m.dependencies, ...m.devDependencies, ...m.optionalDependencies };
    for (const [dep, range] of Object.entries(deps)) {
      if (!String(range).startsWith('workspace:') || seen.has(dep)) continue;
      seen.add(dep);
      visit(dep);
    }
  };
  visit(name);
  return seen;
}

test('every test and typecheck task hashes the sources of every workspace package it reads', () => {
  const dry = JSON.parse(
    execFileSync('pnpm', ['exec', 'turbo', 'run', 'test', 'typecheck', '--dry=json'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      maxBuffer: 64 << 20,
    }),
  );
  const tasks = new Map(dry.tasks.map((t) => [t.taskId, t]));
  // The tasks whose inputs are a package's sources (turbo.json: transit hashes src/**, build its non-test src).
  const hashesSources = (taskId) => /#(transit|build)$/.test(taskId);
  const manifests = workspaceManifests();
  let checked = 0;
  for (const task of dry.tasks.filter((t) => t.task === 'test' || t.task === 'typecheck')) {
    const reached = new Set();
    const stack = [...task.dependencies];
    while (stack.length > 0) {
      const id = stack.pop();
      if (reached.has(id)) continue;
      reached.add(id);
      stack.push(...(tasks.get(id)?.dependencies ?? []));
    }
    const hashed = new Set([...reached].filter(hashesSources).map((id) => tasks.get(id).package));
    const missing = [...workspaceClosure(task.package, manifests)].filter((dep) => !hashed.has(dep));
    assert.deepEqual(missing, [], `${task.taskId} does not hash the sources of ${missing.join(', ')}`);
    checked++;
  }
  assert.ok(checked >= 20, `only ${checked} test/typecheck tasks in turbo's dry run`);
});
