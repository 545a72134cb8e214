// Node: the platform-neutral test support, plus the fixtures on disk, the skip-or-fail rule for prerequisites and
// a tar writer.

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
export { makeTar, makeTarGz, type TarEntry, zerosTarGz } from './tar.node.ts';
