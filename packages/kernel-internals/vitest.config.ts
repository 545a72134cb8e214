import { skipnetProject } from '../../vitest.shared.ts';

export default skipnetProject(import.meta.dirname);
