// Lays out a package folder in the shape every skipnet package shares (used once per new package).
// usage: node scripts/new-package.mjs <folder> <name> "<description>" [--private]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [folder, name, description, flag] = process.argv.slice(2);
if (!folder || !name || !description) {
  console.error('usage: node scripts/new-package.mjs <folder> <name> "<description>" [--private]');
  process.exit(2);
}
if (existsSync(join(folder, 'package.json'))) {
  console.error(`${folder}/package.json exists already`);
  process.exit(2);
}
const isPrivate = flag === '--private';
mkdirSync(join(folder, 'src'), { recursive: true });
const dist = {
  import: { types: './dist/index.d.ts', default: './dist/index.js' },
  require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
};
const pkg = {
  name,
  version: '0.1.0',
  description,
  ...(isPrivate ? { private: true } : {}),
  license: 'Apache-2.0',
  repository: { type: 'git', url: 'git+https://github.com/skipnet/skipnet.git', directory: folder },
  // examples/npm-install's published-shape test holds every public package to these (fill in the keywords).
  ...(isPrivate
    ? {}
    : {
        homepage: `https://github.com/skipnet/skipnet/tree/main/${folder}#readme`,
        bugs: 'https://github.com/skipnet/skipnet/issues',
        keywords: [],
      }),
  type: 'module',
  engines: { node: '>=20.19' },
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.ts',
  exports: { '.': { '@skipnet/source': './src/index.ts', ...dist }, './package.json': './package.json' },
  publishConfig: { access: 'public', exports: { '.': dist, './package.json': './package.json' } },
  files: ['dist', 'README.md', 'CHANGELOG.md'],
  sideEffects: false,
  scripts: {
    build: 'tsup',
    typecheck: 'tsc -p .',
    test: 'vitest run',
    lint: 'biome check .',
  },
  peerDependencies: { '@tensorflow/tfjs-core': '^4.22.0' },
  devDependencies: { '@tensorflow/tfjs-core': '4.22.0' },
};
writeFileSync(join(folder, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
writeFileSync(
  join(folder, 'tsconfig.json'),
  JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', 'test', '*.ts'] }, null, 2) + '\n',
);
writeFileSync(
  join(folder, 'tsup.config.ts'),
  `import { skipnetTsup } from '../../tsup.shared.ts';

export default skipnetTsup({ entry: ['src/index.ts'] });
`,
);
writeFileSync(
  join(folder, 'vitest.config.ts'),
  `import { skipnetProject } from '../../vitest.shared.ts';

export default skipnetProject(import.meta.dirname);
`,
);
console.log(`created ${folder} (${name})`);
