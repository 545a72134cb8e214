// Node: the platform-neutral test support, plus the fixtures on disk and the skip-or-fail rule for prerequisites.

export {
  fixturePath,
  fixturesDir,
  readFixtureBytes,
  readFixtureTensors,
  readSafetensorsFile,
  replaySeedFixture,
} from './fixtures.node.ts';
export * from './index.ts';
export { prerequisite, webgpuForTests } from './prerequisite.node.ts';
