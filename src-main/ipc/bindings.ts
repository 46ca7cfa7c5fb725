// Binds the contract's channels to services. Used unchanged by the Electron main process, the e2e test
// host and the integration tests; only the host-specific pieces (dialogs) are passed in.
import os from 'node:os';
import pkg from '../../package.json';
import type { AppInfo } from '../../src-shared/contract';
import { ParameterError, UnsupportedError } from '../../src-shared/errors';
import { inspect } from '../io/inspect';
import type { JobHandlers, RequestHandlers } from './registry';
import { hashFile } from '../services/file-hash';
import { SeriesSessions, type SessionOptions } from '../services/series-session';
import { PROJECT_SCHEMA_VERSION } from '../services/project-schema';
import { installHdf5Guard } from '../stages/hdf5-guard';
import { findCandidates, runTracking } from '../services/tracking-job';
import { editPeak, framePeaks, processingSummary, runLatticeSearch, runPeakSearch } from '../services/processing-job';
import { reciprocalCloud } from '../services/reciprocal-job';
import { exportReflections, previewReflections, runIntegration } from '../services/reflections-job';
import { extractedFrame, runExtractionJob, summariseExtraction } from '../services/extraction-job';
import { computeVirtual, meanPattern, suggestDetectors, virtualStack, virtualSummary } from '../services/virtual-job';

export interface HostHooks {
  host: AppInfo['host'];
  /** Native file dialog; absent where there is none (test host, CLI). */
  openDialog?: RequestHandlers['dialog.open'];
  versions?: Record<string, string>;
}

/** The state one app (or test host) holds: open series and their results. */
export interface AppState {
  sessions: SeriesSessions;
}
export function createAppState(options: SessionOptions = {}): AppState {
  // A damaged HDF5 file must not hang the app: every open waits for its structure walk in a worker.
  installHdf5Guard();
  return { sessions: new SeriesSessions(options) };
}

export function createRequestHandlers(hooks: HostHooks, state: AppState = createAppState()): RequestHandlers {
  const { sessions } = state;
  return {
    'app.info': () => ({
      name: 'trackED',
      version: pkg.version,
      host: hooks.host,
      platform: `${process.platform}-${process.arch}`,
      versions: { node: process.versions.node, ...(hooks.versions ?? {}) },
      cpus: os.availableParallelism(),
    }),
    'app.echo': ({ message, payload }) => {
      let payloadSum = 0;
      const bytes = payload ? new Uint8Array(payload) : new Uint8Array(0);
      for (let i = 0; i < bytes.length; i++) payloadSum += bytes[i]!;
      return {
        message,
        receivedAt: Date.now(),
        payloadBytes: bytes.length,
        payloadSum,
        ...(payload ? { payload } : {}),
      };
    },
    'file.info': ({ path }) => inspect(path),
    'series.open': ({ path, ...opts }) => sessions.openSeries(path, opts),
    'series.list': () => sessions.list(),
    'series.suggestDetectors': ({ seriesId }) => suggestDetectors(sessions, seriesId),
    'series.close': async ({ seriesId }) => ({ closed: await sessions.close(seriesId) }),
    'series.pattern': ({ seriesId, tilt, rx, ry }) => sessions.pattern(seriesId, tilt, rx, ry),
    'virtual.summary': ({ seriesId }) => virtualSummary(sessions, seriesId),
    'virtual.stack': ({ seriesId, output }) => virtualStack(sessions, seriesId, output),
    'virtual.meanPattern': ({ seriesId, tilt }) => meanPattern(sessions, seriesId, tilt),
    'objects.list': async ({ seriesId }) => {
      const p = await sessions.project(seriesId);
      return [...p.objects.values()].map((o) => p.summary(seriesId, o));
    },
    'objects.create': async ({ seriesId, name, colour }) => {
      const p = await sessions.project(seriesId);
      return p.summary(seriesId, p.create(name, colour));
    },
    'objects.update': async ({ seriesId, objectId, ...patch }) => {
      const p = await sessions.project(seriesId);
      return p.summary(seriesId, p.update(objectId, patch));
    },
    'objects.delete': async ({ seriesId, objectId }) => ({ deleted: (await sessions.project(seriesId)).delete(objectId) }),
    'masks.stack': async ({ seriesId, objectId }) => {
      const p = await sessions.project(seriesId);
      const o = p.get(objectId);
      return { masks: o.masks.slice(), nTilts: p.nTilts, ny: p.scanShape[0], nx: p.scanShape[1], version: o.version };
    },
    'masks.edit': async ({ seriesId, objectId, tilt, set, clear, state }) => {
      const p = await sessions.project(seriesId);
      const o = p.edit(objectId, tilt, { set, clear }, state ?? 'edited');
      const frame = o.masks.subarray(tilt * p.frameSize, (tilt + 1) * p.frameSize);
      let areaPx = 0;
      for (let i = 0; i < frame.length; i++) areaPx += frame[i]!;
      return { areaPx, state: o.frameState[tilt]!, version: o.version };
    },
    'masks.setState': async ({ seriesId, objectId, tilts, state }) => {
      const p = await sessions.project(seriesId);
      return p.summary(seriesId, p.setState(objectId, tilts, state));
    },
    'masks.setPrompt': async ({ seriesId, objectId, prompt }) => {
      const p = await sessions.project(seriesId);
      return p.summary(seriesId, p.setPrompt(objectId, prompt));
    },
    'masks.livePattern': async ({ seriesId, objectId, tilt, preview }) => {
      const p = await sessions.project(seriesId);
      const o = p.get(objectId);
      if (tilt >= p.nTilts) throw new ParameterError('tilt', `${tilt} is outside 0…${p.nTilts - 1}`);
      const mask = preview ?? o.masks.subarray(tilt * p.frameSize, (tilt + 1) * p.frameSize);
      return sessions.maskedPatternSum(seriesId, tilt, mask);
    },
    'extract.summary': ({ seriesId }) => {
      const r = sessions.get(seriesId).extracted;
      return r ? summariseExtraction(seriesId, r) : null;
    },
    'extract.frame': ({ seriesId, objectId, tilt }) => extractedFrame(sessions, seriesId, objectId, tilt),
    'track.candidates': ({ seriesId, tilt, image }) => findCandidates(sessions, seriesId, tilt, image),
    'neighbours.list': async ({ seriesId }) => (await sessions.project(seriesId)).neighbours?.list ?? [],
    'neighbours.stack': async ({ seriesId }) => {
      const p = await sessions.project(seriesId);
      return p.neighbours ? { labels: p.neighbours.labels.slice(), nTilts: p.nTilts, ny: p.scanShape[0], nx: p.scanShape[1] } : null;
    },
    'neighbours.enable': async ({ seriesId, label }) => {
      const p = await sessions.project(seriesId);
      return p.summary(seriesId, await p.enableNeighbour(label));
    },
    'neighbours.merge': async ({ seriesId, label, into }) => {
      const p = await sessions.project(seriesId);
      return p.summary(seriesId, await p.mergeNeighbour(label, into));
    },
    'neighbours.delete': async ({ seriesId, label }) => {
      await (await sessions.project(seriesId)).deleteNeighbour(label);
      return { deleted: true };
    },
    'process.summary': ({ seriesId, objectId }) => processingSummary(sessions, seriesId, objectId),
    'process.framePeaks': ({ seriesId, objectId, frame }) => framePeaks(sessions, seriesId, objectId, frame),
    'process.editPeak': (args) => editPeak(sessions, args),
    'process.reciprocal': ({ seriesId, objectId }) => reciprocalCloud(sessions, seriesId, objectId),
    'process.previewReflections': (args) => previewReflections(sessions, args),
    'process.exportReflections': (args) => exportReflections(sessions, args),
    'project.info': async ({ seriesId }) => {
      const p = await sessions.project(seriesId);
      const place = sessions.projectPlaceOf(sessions.get(seriesId).series.origin);
      return {
        dir: p.dir, locationReason: place.reason, locationChosen: place.chosen, written: p.written,
        lastSavedAt: p.lastSavedAt, dirty: p.isDirty(), schemaVersion: PROJECT_SCHEMA_VERSION, recovery: p.recovery,
      };
    },
    'project.history': async ({ seriesId }) => (await sessions.project(seriesId)).historyWire(),
    'project.recordHistory': async ({ seriesId, action, entry }) => {
      const p = await sessions.project(seriesId);
      p.recordHistory(action, entry);
      return { undo: p.history.undo.length, redo: p.history.redo.length };
    },
    'project.saveAs': ({ seriesId, dir }) => sessions.saveProjectAs(seriesId, dir),
    'project.chooseLocation': ({ seriesId, folder }) => sessions.chooseProjectLocation(seriesId, folder),
    'project.resolveRecovery': ({ seriesId, action }) => sessions.resolveRecovery(seriesId, action),
    'project.recent': () => sessions.recentProjects(),
    'dialog.open':
      hooks.openDialog ??
      (() => {
        throw new UnsupportedError(`No file dialog in this host (${hooks.host}); give the path instead.`);
      }),
  };
}

export function createJobHandlers(state: AppState): JobHandlers {
  const { sessions } = state;
  return {
    'virtual.compute': ({ seriesId, detectors }, ctx) => computeVirtual(sessions, seriesId, detectors, ctx),
    'track.run': (args, ctx) => runTracking(sessions, args, ctx),
    'extract.run': (args, ctx) => runExtractionJob(sessions, args, ctx),
    'process.peaks': (args, ctx) => runPeakSearch(sessions, args, ctx),
    'process.lattice': (args, ctx) => runLatticeSearch(sessions, args, ctx),
    'process.integrate': (args, ctx) => runIntegration(sessions, args, ctx),
    'file.hash': (args, ctx) =>
      hashFile(args.path, { signal: ctx.signal, progress: ctx.progress, chunkBytes: args.chunkBytes }),
  };
}
