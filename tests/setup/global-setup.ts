// Vitest global setup: build the headless bundle (CLI + worker entry) once, so tests can spawn the
// real `tracked` command and real worker_threads.
export default async function setup(): Promise<void> {
  // @ts-expect-error plain ESM build script without types
  const { buildCli } = await import('../../scripts/build-cli.mjs');
  await buildCli({ quiet: true });
}
