// The 3D reciprocal-space view with vtk.js (VolView's pattern: one owner creates every vtk object and deletes them all
// when the component's scope is disposed). One vtkPolyData holds every point of every overlaid object, coloured by
// direct RGB point scalars and drawn as sphere imposters sized by intensity (vtkSphereMapper); the predicted lattice
// nodes are a second, faint point set; a*, b*, c* and the rotation axis are lines with HTML labels. The camera is
// orthographic; picking is done on the CPU from the camera's own vectors (no GPU read-back), which stays under a few
// milliseconds for 10⁶ points.
import '@kitware/vtk.js/Rendering/OpenGL/Profiles/Geometry';
import '@kitware/vtk.js/Rendering/OpenGL/Profiles/Molecule';
import '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';
import vtkSphereMapper from '@kitware/vtk.js/Rendering/Core/SphereMapper';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import vtkRenderWindow from '@kitware/vtk.js/Rendering/Core/RenderWindow';
import vtkRenderWindowInteractor from '@kitware/vtk.js/Rendering/Core/RenderWindowInteractor';
import vtkInteractorStyleTrackballCamera from '@kitware/vtk.js/Interaction/Style/InteractorStyleTrackballCamera';
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkCellArray from '@kitware/vtk.js/Common/Core/CellArray';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkPoints from '@kitware/vtk.js/Common/Core/Points';
import { contextCreated, loseContext, VtkOwner } from './vtk-ledger';
import { cross, dot, projectToScreen, rotateAbout, unit, type Vec3, type ViewDirection } from './geometry';

/** A labelled line from the origin (a*, b*, c*, the rotation axis). */
export interface SceneAxis {
  label: string;
  end: Vec3;
  rgb: [number, number, number];
  /** Drawn through the origin both ways (the rotation axis). */
  both?: boolean;
}

export interface ScenePoints {
  /** 3 per point, Å⁻¹. */
  q: Float32Array;
  /** 3 per point; absent: one colour for all (the bench's baseline). */
  rgb?: Uint8Array;
  /** Sphere radius per point, Å⁻¹; absent: plain points of `pointSizePx`. */
  radius?: Float32Array;
}

export interface ReciprocalScene {
  setPoints(p: ScenePoints): void;
  /** Recolour without touching positions (colour scheme, selection). */
  setColours(rgb: Uint8Array): void;
  setNodes(q: Float32Array | null): void;
  setAxes(axes: SceneAxis[]): void;
  /** Look along `view.direction` with `view.up` up, framing a sphere of `radius` about the origin. */
  setView(view: ViewDirection, radius: number): void;
  /** Turn the camera about `axis` through the focal point by `deg` (the rotation-axis animation). */
  turn(axis: Vec3, deg: number): void;
  render(): void;
  /** Screen positions (CSS px) of the current points, for picking. */
  screenPositions(): Float32Array;
  /** Screen positions of the axis labels' anchors. */
  labelPositions(): Array<{ label: string; x: number; y: number }>;
  onCameraChange(cb: () => void): void;
  /** The orthographic camera: focal point, direction of projection, view up, half height in Å⁻¹. */
  cameraState(): { focal: Vec3; direction: Vec3; up: Vec3; parallelScale: number };
  resize(): void;
  capturePng(): Promise<string>;
  dispose(): void;
}

function pointsOf(owner: VtkOwner, q: Float32Array): ReturnType<typeof vtkPoints.newInstance> {
  const pts = owner.own(vtkPoints.newInstance({ numberOfComponents: 3 }));
  pts.setData(q, 3);
  return pts;
}

function polyData(owner: VtkOwner, q: Float32Array, rgb?: Uint8Array): ReturnType<typeof vtkPolyData.newInstance> {
  const pd = owner.own(vtkPolyData.newInstance());
  pd.setPoints(pointsOf(owner, q));
  const n = q.length / 3;
  const verts = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    verts[2 * i] = 1;
    verts[2 * i + 1] = i;
  }
  pd.setVerts(owner.own(vtkCellArray.newInstance({ values: verts })));
  if (rgb) pd.getPointData().setScalars(owner.own(vtkDataArray.newInstance({ name: 'rgb', numberOfComponents: 3, values: rgb })));
  return pd;
}

/** The points as one actor: sphere imposters sized by `radius` when given, else plain points; RGB scalars when given. */
function pointsActor(owner: VtkOwner, p: ScenePoints): { actor: ReturnType<typeof vtkActor.newInstance>; data: ReturnType<typeof vtkPolyData.newInstance> } {
  const data = polyData(owner, p.q, p.rgb);
  let mapper;
  if (p.radius) {
    const sm = owner.own(vtkSphereMapper.newInstance());
    data.getPointData().addArray(owner.own(vtkDataArray.newInstance({ name: 'radius', numberOfComponents: 1, values: p.radius })));
    sm.setScaleArray('radius');
    sm.setScaleFactor(1);
    mapper = sm;
  } else {
    mapper = owner.own(vtkMapper.newInstance());
  }
  mapper.setInputData(data);
  if (p.rgb) mapper.setColorModeToDirectScalars();
  const actor = owner.own(vtkActor.newInstance());
  actor.setMapper(mapper);
  actor.getProperty().setPointSize(3);
  actor.getProperty().setLighting(!!p.radius);
  return { actor, data };
}

/** The predicted lattice nodes: small, faint, unlit points. */
function nodesActor(owner: VtkOwner, q: Float32Array): ReturnType<typeof vtkActor.newInstance> {
  const mapper = owner.own(vtkMapper.newInstance());
  mapper.setInputData(polyData(owner, q));
  const actor = owner.own(vtkActor.newInstance());
  actor.setMapper(mapper);
  const prop = actor.getProperty();
  prop.setColor(0.55, 0.6, 0.7);
  prop.setOpacity(0.22);
  prop.setPointSize(2);
  prop.setLighting(false);
  return actor;
}

/** Labelled axes as coloured lines from the origin (both ways for the rotation axis). */
function linesActor(owner: VtkOwner, list: SceneAxis[]): ReturnType<typeof vtkActor.newInstance> {
  const q = new Float32Array(6 * list.length);
  const rgb = new Uint8Array(6 * list.length);
  const lines = new Uint32Array(3 * list.length);
  list.forEach((a, i) => {
    const start = a.both ? [-a.end[0], -a.end[1], -a.end[2]] : [0, 0, 0];
    q.set([...start, ...a.end], 6 * i);
    rgb.set([...a.rgb, ...a.rgb], 6 * i);
    lines.set([2, 2 * i, 2 * i + 1], 3 * i);
  });
  const pd = owner.own(vtkPolyData.newInstance());
  pd.setPoints(pointsOf(owner, q));
  pd.setLines(owner.own(vtkCellArray.newInstance({ values: lines })));
  pd.getPointData().setScalars(owner.own(vtkDataArray.newInstance({ name: 'rgb', numberOfComponents: 3, values: rgb })));
  const mapper = owner.own(vtkMapper.newInstance());
  mapper.setInputData(pd);
  mapper.setColorModeToDirectScalars();
  const actor = owner.own(vtkActor.newInstance());
  actor.setMapper(mapper);
  actor.getProperty().setLineWidth(2);
  actor.getProperty().setLighting(false);
  return actor;
}

/** An orthographic camera as a column-major view-projection matrix onto −1…1 (screen right = direction × up). */
export function orthoViewProjection(focal: Vec3, direction: Vec3, viewUp: Vec3, parallelScale: number, aspect: number): Float64Array {
  const d = unit(direction);
  const up = unit(viewUp);
  const right = unit(cross(d, up));
  const sx = parallelScale * aspect;
  const m = new Float64Array(16);
  [m[0], m[4], m[8], m[12]] = [right[0] / sx, right[1] / sx, right[2] / sx, -dot(focal, right) / sx];
  [m[1], m[5], m[9], m[13]] = [up[0] / parallelScale, up[1] / parallelScale, up[2] / parallelScale, -dot(focal, up) / parallelScale];
  m[15] = 1;
  return m;
}

export function createReciprocalScene(container: HTMLElement, background: [number, number, number] = [0.043, 0.051, 0.067]): ReciprocalScene {
  const owner = new VtkOwner();
  // Per-dataset objects (point sets, lines) live in their own owner, replaced when the data change.
  let dataOwner = new VtkOwner();
  const renderWindow = owner.own(vtkRenderWindow.newInstance());
  const renderer = owner.own(vtkRenderer.newInstance({ background }));
  renderWindow.addRenderer(renderer);
  const view = owner.own(renderWindow.newAPISpecificView('WebGL') as { delete(): void; setContainer(el: HTMLElement | null): void; setSize(w: number, h: number): void; getCanvas(): HTMLCanvasElement | null });
  renderWindow.addView(view);
  view.setContainer(container);
  contextCreated();
  const interactor = owner.own(vtkRenderWindowInteractor.newInstance());
  interactor.setView(view);
  interactor.initialize();
  interactor.bindEvents(container);
  interactor.setInteractorStyle(owner.own(vtkInteractorStyleTrackballCamera.newInstance()));
  const camera = renderer.getActiveCamera();
  camera.setParallelProjection(true);

  let points: Float32Array = new Float32Array(0);
  let pointData: ReturnType<typeof vtkPolyData.newInstance> | null = null;
  let pointActor: ReturnType<typeof vtkActor.newInstance> | null = null;
  let nodeActor: ReturnType<typeof vtkActor.newInstance> | null = null;
  let axisActor: ReturnType<typeof vtkActor.newInstance> | null = null;
  let axes: SceneAxis[] = [];
  const nodeOwner = new VtkOwner();
  const axisOwner = new VtkOwner();
  const cameraListeners: Array<() => void> = [];
  const sub = camera.onModified(() => cameraListeners.forEach((cb) => cb()));

  function size(): { w: number; h: number } {
    const r = container.getBoundingClientRect();
    return { w: Math.max(1, r.width), h: Math.max(1, r.height) };
  }

  function resize(): void {
    const { w, h } = size();
    const dpr = window.devicePixelRatio || 1;
    view.setSize(Math.floor(w * dpr), Math.floor(h * dpr));
    renderWindow.render();
  }

  function setPoints(p: ScenePoints): void {
    if (pointActor) renderer.removeActor(pointActor);
    dataOwner.releaseAll();
    dataOwner = new VtkOwner();
    points = p.q;
    ({ actor: pointActor, data: pointData } = pointsActor(dataOwner, p));
    renderer.addActor(pointActor);
  }

  function setColours(rgb: Uint8Array): void {
    const s = pointData?.getPointData().getScalars();
    if (!s || rgb.length !== s.getData().length) return;
    (s.getData() as Uint8Array).set(rgb);
    s.modified();
    pointData!.modified();
  }

  function setNodes(q: Float32Array | null): void {
    if (nodeActor) renderer.removeActor(nodeActor);
    nodeOwner.releaseAll();
    nodeActor = null;
    if (!q || !q.length) return;
    nodeActor = nodesActor(nodeOwner, q);
    renderer.addActor(nodeActor);
  }

  function setAxes(list: SceneAxis[]): void {
    axes = list;
    if (axisActor) renderer.removeActor(axisActor);
    axisOwner.releaseAll();
    axisActor = list.length ? linesActor(axisOwner, list) : null;
    if (axisActor) renderer.addActor(axisActor);
  }

  function setView(v: ViewDirection, radius: number): void {
    const d = unit(v.direction);
    const dist = Math.max(1e-3, radius) * 10;
    camera.setFocalPoint(0, 0, 0);
    camera.setPosition(-d[0] * dist, -d[1] * dist, -d[2] * dist);
    camera.setViewUp(...v.up);
    camera.setParallelScale(Math.max(1e-3, radius) * 1.05);
    renderer.resetCameraClippingRange();
  }

  function turn(axis: Vec3, deg: number): void {
    const f = camera.getFocalPoint() as Vec3;
    const p = camera.getPosition() as Vec3;
    const rel: Vec3 = [p[0] - f[0], p[1] - f[1], p[2] - f[2]];
    const np = rotateAbout(axis, deg, rel);
    camera.setPosition(f[0] + np[0], f[1] + np[1], f[2] + np[2]);
    camera.setViewUp(...rotateAbout(axis, deg, camera.getViewUp() as Vec3));
    renderer.resetCameraClippingRange();
  }

  function viewProjection(): Float64Array {
    const { w, h } = size();
    return orthoViewProjection(camera.getFocalPoint() as Vec3, camera.getDirectionOfProjection() as Vec3, camera.getViewUp() as Vec3, camera.getParallelScale(), w / h);
  }

  const screenPositions = (): Float32Array => projectToScreen(points, viewProjection(), size().w, size().h);

  function labelPositions(): Array<{ label: string; x: number; y: number }> {
    const { w, h } = size();
    const ends = Float32Array.from(axes.flatMap((a) => a.end.map((v) => v * 1.08)));
    const s = projectToScreen(ends, viewProjection(), w, h);
    return axes.map((a, i) => ({ label: a.label, x: s[2 * i], y: s[2 * i + 1] }));
  }

  async function capturePng(): Promise<string> {
    const shots = renderWindow.captureImages('image/png');
    renderWindow.render();
    return (await shots[0]) ?? '';
  }

  function dispose(): void {
    sub.unsubscribe();
    cameraListeners.length = 0;
    interactor.unbindEvents();
    const canvas = view.getCanvas();
    dataOwner.releaseAll();
    nodeOwner.releaseAll();
    axisOwner.releaseAll();
    view.setContainer(null);
    owner.releaseAll();
    loseContext(canvas);
    canvas?.remove();
  }

  resize();
  return {
    setPoints,
    setColours,
    setNodes,
    setAxes,
    setView,
    turn,
    render: () => renderWindow.render(),
    screenPositions,
    labelPositions,
    onCameraChange: (cb) => cameraListeners.push(cb),
    cameraState: () => ({ focal: camera.getFocalPoint() as Vec3, direction: unit(camera.getDirectionOfProjection() as Vec3), up: unit(camera.getViewUp() as Vec3), parallelScale: camera.getParallelScale() }),
    resize,
    capturePng,
    dispose,
  };
}
