import { skipnetTsup } from '../../tsup.shared.ts';

export default skipnetTsup({
  entry: ['src/index.ts', 'src/register.ts', 'src/threads.ts'],
  // import.meta.url in the CommonJS build (threads.ts resolves tfjs-backend-wasm's files).
  shims: true,
});
