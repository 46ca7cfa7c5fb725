// The bundled preset structures (resources/structures/*.cif). The app never reads ../shared at run time.
// The resources folder is found relative to this module (source checkout, out/cli, out/main) or in an
// Electron package's resources path; TRACKED_RESOURCES overrides both.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../src-shared/errors';
import { parseCif, type CrystalStructure } from './cif';

export const BUNDLED_STRUCTURES = ['brookite_TiO2.cif', 'CsPbBr3_cubic.cif', 'beta_Ga2O3.cif', 'pseudo_ortho_ZnMoO4.cif'] as const;
export type BundledStructure = (typeof BUNDLED_STRUCTURES)[number];

/** Absolute path of the resources folder that holds `sub` (e.g. 'structures'). */
export function resourcesDir(sub: string): string {
  const candidates: string[] = [];
  const env = process.env['TRACKED_RESOURCES'];
  if (env) candidates.push(resolve(env));
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    candidates.push(join(dir, 'resources'));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const rp = (process as unknown as { resourcesPath?: string }).resourcesPath;
  if (rp) candidates.push(join(rp, 'resources'), rp);
  for (const c of candidates) if (existsSync(join(c, sub))) return join(c, sub);
  throw new InputError(join('resources', sub), `bundled resources not found (looked in ${candidates.join(', ')})`);
}

/** Reads and parses a CIF file; errors name the file. */
export function readCifFile(path: string): CrystalStructure {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(path, `cannot read: ${(e as Error).message}`);
  }
  return parseCif(text, path);
}

/** One of the bundled preset structures, parsed. */
export function loadBundledStructure(name: BundledStructure): CrystalStructure {
  return readCifFile(join(resourcesDir('structures'), name));
}
