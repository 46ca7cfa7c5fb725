// Connected-component labelling (8-connectivity: diagonal neighbours belong to the same particle, as a
// particle's rim drawn on a pixel grid is often only diagonally connected) and per-region properties.
import { checkImage, checkNonNegative, neighbours8, type ImageLike } from './util';

export interface Labelling {
  /** 0 = background, 1..count = component, in raster order of each component's first pixel. */
  labels: Int32Array;
  count: number;
}

export interface RegionProps {
  label: number;
  /** Pixel count. */
  area: number;
  /** Centroid (pixel centres at integer coordinates). */
  cx: number;
  cy: number;
  /** Inclusive bounding box. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Mean of the intensity image over the region (NaN when no intensity image was given). */
  meanIntensity: number;
  /** True when the region has a pixel in the first/last row or column. */
  touchesBorder: boolean;
}

/** Labels the 8-connected components of the nonzero pixels of `mask`. */
export function labelComponents(mask: Uint8Array, nx: number, ny: number): Labelling {
  checkImage(mask, nx, ny, 'mask');
  const n = nx * ny;
  const labels = new Int32Array(n);
  const stack = new Int32Array(n);
  const nb = new Int32Array(8);
  let count = 0;
  for (let start = 0; start < n; start++) {
    if (!mask[start] || labels[start]) continue;
    count++;
    labels[start] = count;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const k = neighbours8(stack[--top], nx, ny, nb);
      for (let m = 0; m < k; m++) {
        const j = nb[m];
        if (mask[j] && !labels[j]) {
          labels[j] = count;
          stack[top++] = j;
        }
      }
    }
  }
  return { labels, count };
}

/**
 * Properties of regions 1..count of a label image (labels outside that range are ignored). Regions with no pixel
 * are returned with area 0 and NaN centroid, so `props[k − 1]` is always region k.
 */
export function regionProps(
  labels: Int32Array,
  count: number,
  nx: number,
  ny: number,
  intensity?: ImageLike,
): RegionProps[] {
  checkImage(labels, nx, ny, 'labels');
  if (intensity) checkImage(intensity, nx, ny, 'intensity');
  const area = new Float64Array(count + 1);
  const sx = new Float64Array(count + 1);
  const sy = new Float64Array(count + 1);
  const si = new Float64Array(count + 1);
  const x0 = new Int32Array(count + 1).fill(nx);
  const y0 = new Int32Array(count + 1).fill(ny);
  const x1 = new Int32Array(count + 1).fill(-1);
  const y1 = new Int32Array(count + 1).fill(-1);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const i = y * nx + x;
      const l = labels[i];
      if (l <= 0 || l > count) continue;
      area[l]++;
      sx[l] += x;
      sy[l] += y;
      if (intensity) si[l] += intensity[i];
      if (x < x0[l]) x0[l] = x;
      if (x > x1[l]) x1[l] = x;
      if (y < y0[l]) y0[l] = y;
      if (y > y1[l]) y1[l] = y;
    }
  }
  const props: RegionProps[] = [];
  for (let l = 1; l <= count; l++) {
    const a = area[l];
    props.push({
      label: l,
      area: a,
      cx: a ? sx[l] / a : NaN,
      cy: a ? sy[l] / a : NaN,
      x0: x0[l],
      y0: y0[l],
      x1: x1[l],
      y1: y1[l],
      meanIntensity: a && intensity ? si[l] / a : NaN,
      touchesBorder: a > 0 && (x0[l] === 0 || y0[l] === 0 || x1[l] === nx - 1 || y1[l] === ny - 1),
    });
  }
  return props;
}

/** Removes 8-connected components with fewer than `minArea` pixels. */
export function removeSmallObjects(mask: Uint8Array, nx: number, ny: number, minArea: number): Uint8Array {
  checkNonNegative(minArea, 'minArea');
  const { labels, count } = labelComponents(mask, nx, ny);
  const area = new Float64Array(count + 1);
  for (let i = 0; i < labels.length; i++) area[labels[i]]++;
  const out = new Uint8Array(nx * ny);
  for (let i = 0; i < out.length; i++) out[i] = labels[i] && area[labels[i]] >= minArea ? 1 : 0;
  return out;
}
