import { skipnetTsup } from '../../tsup.shared.ts';

// index.ts is the platform-neutral core (browsers); index.node.ts adds the disk cache and the download.
export default skipnetTsup({ entry: ['src/index.ts', 'src/index.node.ts'] });
