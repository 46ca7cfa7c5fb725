// Numbers as the Properties panel and the logs show them: bytes in binary units, physical values with the precision
// that means something (a wavelength to 5 significant figures, not 18 digits), ranges and counts.

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** `v` to `digits` significant figures, without trailing zeros or exponent for everyday magnitudes. */
export function formatSignificant(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const s = Number(v.toPrecision(digits));
  return Math.abs(s) >= 1e-4 && Math.abs(s) < 1e7 ? String(s) : s.toExponential(digits - 1);
}

/** "a … b" of the finite values, or "–" when there is none. */
export function formatRange(values: readonly number[], digits = 4, unit = ''): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '–';
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const u = unit ? ` ${unit}` : '';
  return lo === hi ? `${formatSignificant(lo, digits)}${u}` : `${formatSignificant(lo, digits)} … ${formatSignificant(hi, digits)}${u}`;
}

/** The step between consecutive angles when it is constant (to 1e-6°), else null. */
export function constantStep(anglesDeg: readonly number[]): number | null {
  if (anglesDeg.length < 2) return null;
  const step = anglesDeg[1] - anglesDeg[0];
  for (let i = 2; i < anglesDeg.length; i++) if (Math.abs(anglesDeg[i] - anglesDeg[i - 1] - step) > 1e-6) return null;
  return step;
}
