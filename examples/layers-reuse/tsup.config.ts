import { skipnetTsup } from '../../tsup.shared.ts';

// An example runs from its folder, not from a package: ESM only, no types.
export default skipnetTsup({ entry: ['src/train.ts'], format: ['esm'], dts: false });
