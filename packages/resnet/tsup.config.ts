import { skipnetTsup } from '../../tsup.shared.ts';

// Splitting (CommonJS too) keeps one `ResNet` class shared by the entries, so `layer.toModule()` is an
// `instanceof ResNet` whichever entry the class came from.
export default skipnetTsup({
  entry: ['src/index.ts', 'src/layers.ts'],
  splitting: true,
});
