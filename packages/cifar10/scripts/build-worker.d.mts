/** The worker's bundled source, from the current sources. */
export function workerSource(): Promise<string>;
export const GENERATED: string;
