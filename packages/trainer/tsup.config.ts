import { skipnetTsup } from '../../tsup.shared.ts';

export default skipnetTsup({ entry: ['src/index.ts', 'src/index.node.ts'] });
