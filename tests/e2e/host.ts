// The e2e test host: the same IPC registry as the Electron main process, served over a WebSocket, plus
// the built renderer over HTTP. index.html gets one extra script, the bridge, which sets
// `window.api = createApi(wsTransport)` before the app starts — the only difference from the preload.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventMap, EventName } from '../../src-shared/contract';
import { IpcRegistry, type EventSink } from '../../src-main/ipc/registry';
import { createAppState, createJobHandlers, createRequestHandlers } from '../../src-main/ipc/bindings';
import { PathGrants } from '../../src-main/ipc/path-grants';
import { decode, encode } from './wire';

export const WS_PATH = '/__tracked_ws';
export const BRIDGE_PATH = '/__tracked_bridge.js';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

export interface HostOptions {
  /** Folder of the built renderer (electron-vite's out/renderer). */
  rendererDir: string;
  /** The bundled bridge script (tests/e2e/bridge.ts built for the browser). */
  bridgeFile: string;
  port?: number;
  /**
   * The folders the tests' data and outputs live in. The host enforces the app's path policy (path-grants.ts) and
   * grants these for reading and writing, as the app grants folders given on its command line; any other path the
   * page sends is refused.
   */
  grantRoots?: string[];
  /** The user's settings folder (the recent-projects list); none: no list is kept. */
  settingsDir?: string;
}

export interface RunningHost {
  url: string;
  port: number;
  registry: IpcRegistry;
  close(): Promise<void>;
}

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const rendererDir = resolve(options.rendererDir);
  const clients = new Set<WebSocket>();
  const sink: EventSink = {
    emit<E extends EventName>(event: E, payload: EventMap[E]) {
      const frame = encode({ type: 'event', event, payload });
      for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(frame);
    },
  };
  const state = createAppState(
    options.settingsDir ? { recentFile: join(options.settingsDir, 'recent-projects.json'), settingsFile: join(options.settingsDir, 'settings.json') } : {},
  );
  const paths = new PathGrants();
  for (const root of options.grantRoots ?? []) paths.grant(resolve(root), { mode: 'write', scope: 'tree', origin: 'cli' });
  const registry = new IpcRegistry(createRequestHandlers({ host: 'test-host' }, state), createJobHandlers(state), sink, { paths });
  let port = 0;

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === BRIDGE_PATH) {
      res.writeHead(200, { 'content-type': MIME['.js']! });
      createReadStream(options.bridgeFile).pipe(res);
      return;
    }
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const file = normalize(join(rendererDir, rel));
    if (!file.startsWith(rendererDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    if (rel === 'index.html') {
      // Same CSP as the app, plus the one WebSocket the bridge needs.
      const html = readFileSync(file, 'utf8')
        .replace(/connect-src 'self'/, `connect-src 'self' ws://127.0.0.1:${port}`)
        .replace('<head>', `<head>\n    <script src="${BRIDGE_PATH}"></script>`);
      res.writeHead(200, { 'content-type': MIME['.html']! }).end(html);
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });

  const wss = new WebSocketServer({ server, path: WS_PATH });
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('message', (data, isBinary) => {
      void (async () => {
        let id: unknown;
        try {
          const message = decode(isBinary ? new Uint8Array(data as Buffer) : String(data)) as {
            type: string;
            id: number;
            channel: string;
            args: unknown;
          };
          id = message.id;
          if (message.type !== 'invoke') return;
          const result = await registry.handle(message.channel, message.args);
          ws.send(encode({ type: 'reply', id, result }));
        } catch (error) {
          ws.send(encode({ type: 'reply', id, result: { ok: false, error: { name: 'ProtocolError', message: String(error) } } }));
        }
      })();
    });
  });

  await new Promise<void>((ok) => server.listen(options.port ?? 0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    registry,
    close: () =>
      new Promise<void>((ok) => {
        registry.jobs.cancelAll();
        void state.sessions.closeAll();
        for (const ws of clients) ws.terminate();
        wss.close();
        server.close(() => ok());
      }),
  };
}

// Run as a process: `node out/e2e/host.mjs --renderer out/renderer --bridge out/e2e/bridge.js [--port N] [--settings DIR] [--grant DIR]…`
// prints `TRACKED_HOST <url>` when ready. Without --grant, the OS temp folder (where tests make their data) is granted.
const isMain = typeof process !== 'undefined' && process.argv[1]?.endsWith('host.mjs');
if (isMain) {
  const arg = (name: string, fallback?: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    const value = i >= 0 ? process.argv[i + 1] : fallback;
    if (value === undefined) throw new Error(`missing --${name}`);
    return value;
  };
  const grants = process.argv.flatMap((a, i) => (a === '--grant' && process.argv[i + 1] ? [process.argv[i + 1]!] : []));
  const host = await startHost({
    rendererDir: arg('renderer'),
    bridgeFile: arg('bridge'),
    port: Number(arg('port', '0')),
    grantRoots: grants.length > 0 ? grants : [tmpdir()],
    ...(process.argv.includes('--settings') ? { settingsDir: arg('settings') } : {}),
  });
  process.stdout.write(`TRACKED_HOST ${host.url}\n`);
  const stop = (): void => void host.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
