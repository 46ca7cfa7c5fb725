// Counts the vtk.js objects and WebGL contexts the app creates and deletes, so a test can prove that switching tabs
// and objects leaks neither (vtk.js keeps no registry of its own). Every vtk object the reciprocal view makes goes
// through `own`, and its disposal through `release`.
export interface VtkLedger {
  created: number;
  deleted: number;
  contextsCreated: number;
  contextsLost: number;
}

const ledger: VtkLedger = { created: 0, deleted: 0, contextsCreated: 0, contextsLost: 0 };
// Read-only counters for the e2e tests (and anyone debugging a leak in the dev tools).
(globalThis as { __trackedVtk?: Readonly<VtkLedger> }).__trackedVtk = ledger;

export function vtkLedger(): Readonly<VtkLedger> {
  return ledger;
}

/** Objects made by one owner, deleted together in reverse order of creation. */
export class VtkOwner {
  private readonly objects: Array<{ delete(): void }> = [];

  own<T extends { delete(): void }>(o: T): T {
    this.objects.push(o);
    ledger.created++;
    return o;
  }

  release(o: { delete(): void }): void {
    const i = this.objects.indexOf(o);
    if (i < 0) return;
    this.objects.splice(i, 1);
    o.delete();
    ledger.deleted++;
  }

  releaseAll(): void {
    while (this.objects.length) this.release(this.objects[this.objects.length - 1]!);
  }
}

export function contextCreated(): void {
  ledger.contextsCreated++;
}

/** Gives the canvas's WebGL context back at once (Chromium keeps at most 16 and reclaims them lazily). */
export function loseContext(canvas: HTMLCanvasElement | null): void {
  const gl = (canvas?.getContext('webgl2') ?? null) as WebGL2RenderingContext | null;
  if (!gl) return;
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  ledger.contextsLost++;
}
