// Binds the contract's channels to services. Used unchanged by the Electron main process, the e2e test
// host and the integration tests; only the host-specific pieces (dialogs) are passed in.
import os from 'node:os';
import pkg from '../../package.json';
import type { AppInfo } from '../../src-preload/contract';
import { UnsupportedError } from '../errors';
import { inspect } from '../io/inspect';
import type { JobHandlers, RequestHandlers } from '../ipc/registry';
import { hashFile } from './file-hash';
import { SeriesSessions } from './series-session';

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
export function createAppState(): AppState {
  return { sessions: new SeriesSessions() };
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
    'series.close': ({ seriesId }) => ({ closed: sessions.close(seriesId) }),
    'series.pattern': ({ seriesId, tilt, rx, ry }) => sessions.pattern(seriesId, tilt, rx, ry),
    'virtual.summary': ({ seriesId }) => sessions.virtualSummary(seriesId),
    'virtual.stack': ({ seriesId, output }) => sessions.virtualStack(seriesId, output),
    'virtual.meanPattern': ({ seriesId, tilt }) => sessions.meanPattern(seriesId, tilt),
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
    'virtual.compute': ({ seriesId, detectors }, ctx) => sessions.computeVirtual(seriesId, detectors, ctx),
    'file.hash': (args, ctx) =>
      hashFile(args.path, { signal: ctx.signal, progress: ctx.progress, chunkBytes: args.chunkBytes }),
  };
}
