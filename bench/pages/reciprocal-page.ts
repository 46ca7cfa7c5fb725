// Browser side of `npm run bench -- reciprocal`: the app's reciprocal scene (src-renderer/src/reciprocal/scene.ts) on
// a synthetic lattice-like cloud, turned about an axis frame by frame; each frame is timed to the end of the GPU work
// (a one-pixel read-back), so SwiftShader's rasterisation is counted.
import { pointColours, pointRadii } from '../../src-renderer/src/reciprocal/colours';
import { createReciprocalScene } from '../../src-renderer/src/reciprocal/scene';
import type { ReciprocalCloud } from '../../src-shared/reciprocal';

function cloud(n: number): ReciprocalCloud {
  const q = new Float32Array(3 * n);
  const intensity = new Float32Array(n);
  const frame = new Int32Array(n);
  let s = 12345;
  const rnd = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    // Nodes of a 0.2 Å⁻¹ lattice within 1.5 Å⁻¹, with a little spread.
    for (let c = 0; c < 3; c++) q[3 * i + c] = (Math.round((rnd() * 2 - 1) * 7.5) + (rnd() - 0.5) * 0.05) * 0.2;
    intensity[i] = -Math.log(rnd() + 1e-9) * 100;
    frame[i] = Math.floor(rnd() * 121);
  }
  return {
    seriesId: 'bench', objectId: 1, name: 'bench', q, frame, x: new Float32Array(n), y: new Float32Array(n), intensity, iOverSigma: new Float32Array(n),
    label: Uint8Array.from({ length: n }, () => (rnd() < 0.8 ? 1 : 0)), hkl: new Int32Array(3 * n), anglesDeg: Float64Array.from({ length: 121 }, (_, t) => -60 + t),
    axisDeg: 27, axisSource: 'refined', ub: null, cell: null, qMaxInvA: 1.5 * Math.sqrt(3),
  };
}

async function frameTimes(n: number, styled: boolean, frames: number): Promise<{ medianMs: number; p95Ms: number }> {
  const box = document.getElementById('view')!;
  const scene = createReciprocalScene(box);
  const c = cloud(n);
  scene.setPoints(styled ? { q: c.q, rgb: pointColours([c], 'tilt', ['#ffffff']), radius: pointRadii([c], c.qMaxInvA / 110) } : { q: c.q });
  scene.setView({ direction: [0, 0, 1], up: [0, -1, 0] }, c.qMaxInvA);
  const gl = box.querySelector('canvas')!.getContext('webgl2')!;
  const pixel = new Uint8Array(4);
  // A one-pixel read-back waits for the frame (finish alone returns before the GPU process has drawn).
  const sync = (): void => gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
  scene.render();
  sync();
  const times: number[] = [];
  for (let f = 0; f < frames; f++) {
    const t0 = performance.now();
    scene.turn([Math.cos(0.47), Math.sin(0.47), 0], 2);
    scene.render();
    if (styled) scene.screenPositions();
    sync();
    times.push(performance.now() - t0);
  }
  scene.dispose();
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, p95Ms: times[Math.floor(0.95 * (times.length - 1))]! };
}

(window as unknown as { runBench: typeof frameTimes }).runBench = frameTimes;
