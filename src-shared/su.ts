// A value with its standard uncertainty in the crystallographer's bracket notation (CIF, papers, the app):
// 9.1840(3), with two digits of su when its first digit is 1 (the IUCr "19 rule").
export function withSu(value: number, su: number | undefined, fallbackDecimals: number): string {
  if (!su || !Number.isFinite(su) || su <= 0) return value.toFixed(fallbackDecimals);
  let d = Math.max(0, Math.ceil(-Math.log10(su)));
  if (su * 10 ** d < 2) d++;
  d = Math.min(d, 8);
  return `${value.toFixed(d)}(${Math.round(su * 10 ** d)})`;
}
