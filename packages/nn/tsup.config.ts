import { skipnetTsup } from '../../tsup.shared.ts';

export default skipnetTsup({
  entry: { index: 'src/index.ts', gradients: 'src/register-gradients.ts' },
  // tfjs-core's gradient configs are not reachable through its public API (and its ESM dist has
  // extensionless imports Node cannot load): bundle them, as the @tensorflow/tfjs union package does.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
  // Both entries register those configs: share one chunk in the CommonJS build as in the ESM one, instead of
  // a copy in each (tsup splits only ESM by default).
  splitting: true,
});
