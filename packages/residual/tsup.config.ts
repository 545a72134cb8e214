import { skipnetTsup } from '../../tsup.shared.ts';

// Splitting (CommonJS too) keeps one `Residual` class shared by both entries, so `layer.toModule()` is an
// `instanceof Residual` whichever entry the class came from.
export default skipnetTsup({ entry: ['src/index.ts', 'src/layers.ts'], splitting: true });
