// The merge step of a batch: the reflection files of every particle in a merge group (each task's report.json lists
// its objects' files, cells and space groups) scaled together against the particle most others agree with, reindexed
// where the lattice allows, and written as one NAME.hkl (batch = particle), NAME.ins (with a composition), NAME.cif,
// and NAME.cif_pets holding each accepted particle's own geometry as a data block; merge.json says how each particle
// fared (scale, CC and R against the reference, or why it was left out) and the group's merging statistics.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParticleMergeReport, ShellStatisticsReport } from '../../../src-shared/processing';
import { InputError } from '../../../src-shared/errors';
import { writeFileAtomicSync } from '../../io/atomic';
import { shellOut } from '../../processing/integration-report';
import { mergedGroupFiles, mergeParticles, particleFromHklf, type ParticleReflections } from '../../processing/merge-particles';
import { parseComposition } from '../../processing/reflection-export';
import type { ResolvedPlan } from './plan';
import { readReport } from './task';

export interface GroupMergeReport {
  version: 1;
  group: string;
  members: Array<{ task: string; object: string; hkl: string }>;
  spaceGroup: string;
  cell: { a: number; b: number; c: number; alpha: number; beta: number; gamma: number };
  particles: Array<Omit<ParticleMergeReport, 'objectId'> & { task: string }>;
  overall: ShellStatisticsReport;
  shells: ShellStatisticsReport[];
  files: Record<string, string>;
}

export const mergeDir = (resolved: ResolvedPlan, group: string): string => join(resolved.out, 'merge', group);

/** cellEsd from a particle's NAME.ins ZERR line (zeros without one). */
function zerrOf(insPath: string | undefined): number[] {
  if (!insPath || !existsSync(insPath)) return [0, 0, 0, 0, 0, 0];
  const line = readFileSync(insPath, 'utf8').split('\n').find((l) => /^ZERR\b/i.test(l));
  const v = line?.trim().split(/\s+/).slice(2, 8).map(Number);
  return v && v.length === 6 && v.every(Number.isFinite) ? v : [0, 0, 0, 0, 0, 0];
}

/** A member's .cif_pets as one data block named after it (its geometry stays its own). */
function cifPetsBlock(text: string, name: string, scale: number | null): string {
  const body = text.replace(/^\s*data_\S*\s*$/m, '').trimStart();
  return `data_${name.replace(/[^A-Za-z0-9_.-]/g, '_')}\n# scale onto the group's reference: ${scale === null ? 'n/a' : scale.toPrecision(6)}\n${body.trimEnd()}\n`;
}

/** Merges group `group` of the plan; writes OUT/merge/<group>/ and returns what merge.json holds. */
export function mergeGroup(resolved: ResolvedPlan, group: string): GroupMergeReport {
  const indices = resolved.merges[group];
  if (!indices?.length) throw new InputError(resolved.plan, `has no merge group "${group}" (groups: ${Object.keys(resolved.merges).join(', ') || 'none'})`);
  const particles: ParticleReflections[] = [];
  const members: Array<{ task: string; object: string; hkl: string; ins?: string; cifPets?: string; wavelengthA: number | null }> = [];
  for (const i of indices) {
    const task = resolved.tasks[i]!;
    const report = readReport(task);
    if (!report) throw new InputError(join(task.out, 'report.json'), `task ${task.id} of merge group ${group} has no readable report (did it finish?)`);
    for (const o of report.objects) {
      const r = o.reflections;
      if (!r?.files['hkl'] || !r.cell) continue;
      const hkl = join(task.out, r.files['hkl']);
      const name = report.objects.length > 1 ? `${task.id}/${o.name}` : task.id;
      const p = particleFromHklf(name, readFileSync(hkl, 'utf8'), r.cell, r.spaceGroup.number);
      const ins = r.files['ins'] ? join(task.out, r.files['ins']) : undefined;
      particles.push({ ...p, cellEsd: zerrOf(ins) });
      members.push({ task: task.id, object: o.name, hkl, ...(ins ? { ins } : {}), ...(r.files['cifPets'] ? { cifPets: join(task.out, r.files['cifPets']) } : {}), wavelengthA: report.geometry.wavelengthA });
    }
  }
  if (particles.length < 2) throw new InputError(mergeDir(resolved, group), `merge group ${group} has ${particles.length} particle(s) with reflection files: at least 2 are needed`);
  const m = mergeParticles(particles);
  const composition = resolved.tasks[indices[0]!]!.options.composition;
  const wavelengthA = members[m.referenceIndex]!.wavelengthA ?? members.find((x) => x.wavelengthA)?.wavelengthA;
  if (!wavelengthA) throw new InputError(mergeDir(resolved, group), `merge group ${group}: no member's report records the wavelength`);
  const files = mergedGroupFiles(m, { name: group, wavelengthA, cellEsd: particles[m.referenceIndex]!.cellEsd ?? [0, 0, 0, 0, 0, 0], ...(composition ? { composition: parseComposition(composition) } : {}) });
  const dir = mergeDir(resolved, group);
  mkdirSync(dir, { recursive: true });
  const written: Record<string, string> = { hkl: `${group}.hkl`, cif: `${group}.cif` };
  writeFileAtomicSync(join(dir, written.hkl!), files.hkl);
  writeFileAtomicSync(join(dir, written.cif!), files.cif);
  if (files.ins) writeFileAtomicSync(join(dir, (written.ins = `${group}.ins`)), files.ins);
  const blocks = members.flatMap((x, k) => (m.particles[k]!.accepted && x.cifPets && existsSync(x.cifPets) ? [cifPetsBlock(readFileSync(x.cifPets, 'utf8'), particles[k]!.name, m.particles[k]!.scale)] : []));
  if (blocks.length) writeFileAtomicSync(join(dir, (written.cifPets = `${group}.cif_pets`)), blocks.join('\n'));
  const c = m.cell;
  const report: GroupMergeReport = {
    version: 1,
    group,
    members: members.map(({ task, object, hkl }) => ({ task, object, hkl })),
    spaceGroup: m.spaceGroup.hm,
    cell: { a: +c.a.toFixed(5), b: +c.b.toFixed(5), c: +c.c.toFixed(5), alpha: +c.alpha.toFixed(4), beta: +c.beta.toFixed(4), gamma: +c.gamma.toFixed(4) },
    particles: m.particles.map((p, k) => ({ ...p, task: members[k]!.task, reference: k === m.referenceIndex })),
    overall: shellOut(m.statistics.overall),
    shells: m.statistics.shells.map(shellOut),
    files: written,
  };
  writeFileAtomicSync(join(dir, 'merge.json'), `${JSON.stringify(report, null, 1)}\n`);
  return report;
}
