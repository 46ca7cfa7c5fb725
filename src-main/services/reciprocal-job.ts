// The Reciprocal space tab's data (ARCHITECTURE §9): one object's peaks as points in reciprocal space with their
// frame, detector position, intensity, I/σ and indices, and the lattice (UB, cell) when it is indexed and current.
// Computed in main from the peak table the processing service keeps (milliseconds for 10⁵ peaks); typed arrays go to
// the renderer by structured clone.
import { ParameterError } from '../../src-shared/errors';
import type { ReciprocalCloud } from '../../src-shared/reciprocal';
import { peakCloud } from '../processing/reciprocal-cloud';
import { objectProcessing } from './processing-job';
import type { SeriesSessions } from './series-session';

export function reciprocalCloud(sessions: SeriesSessions, seriesId: string, objectId: number): ReciprocalCloud {
  const st = objectProcessing(sessions, seriesId, objectId);
  const table = st.table;
  if (!table) throw new ParameterError('peaks', `search the peaks of ${st.source.name} first (Processing tab): the reciprocal space shows them`);
  const lattice = !st.latticeStale && st.lattice?.status === 'indexed' ? st.lattice : null;
  const given = st.latticeParams.axisDeg;
  const metadata = sessions.get(seriesId).series.calibration.rotationAxisDeg;
  const axisSource = lattice?.axis ? 'refined' : given !== undefined ? 'given' : metadata !== undefined ? 'metadata' : null;
  if (!axisSource) throw new ParameterError('axis', `the rotation axis of ${st.source.name} is not known yet: find the lattice (or give the axis) first`);
  const c = peakCloud(st.input, table, lattice, lattice?.axis?.refinedDeg ?? given ?? metadata!);
  const cell = lattice?.cell;
  return {
    seriesId,
    objectId,
    name: st.source.name,
    q: c.q,
    frame: Int32Array.from(table.frame),
    x: Float32Array.from(table.x),
    y: Float32Array.from(table.y),
    intensity: Float32Array.from(table.intensity),
    iOverSigma: c.iOverSigma,
    label: c.label,
    hkl: c.hkl,
    anglesDeg: Float64Array.from(st.input.anglesDeg),
    axisDeg: c.axisDeg,
    axisSource,
    ub: c.ub ? c.ub.flat() : null,
    cell: cell ? { a: cell.a, b: cell.b, c: cell.c, alpha: cell.alpha, beta: cell.beta, gamma: cell.gamma } : null,
    qMaxInvA: c.qMaxInvA,
  };
}
