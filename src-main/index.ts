// Electron main: the app shell. One window, locked down (contextIsolation, sandbox, no nodeIntegration,
// CSP, no new windows, no navigation or redirect away, no permissions; `npm run lint:electron` checks it),
// the IPC registry bound to ipcMain, and a native menu whose items are sent through the same contract as
// every other command. Everything else lives in plain Node modules that the CLI and the e2e host share.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, Menu, app, dialog, ipcMain, session, shell, type MenuItemConstructorOptions } from 'electron';
import type { AppCommand, EventMap, EventName } from '../src-shared/contract';
import { IpcRegistry, type EventSink } from './ipc/registry';
import { createAppState, createJobHandlers, createRequestHandlers } from './ipc/bindings';
import { PathGrants } from './ipc/path-grants';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

// The main bundle is ESM: no __dirname.
const here = dirname(fileURLToPath(import.meta.url));

let mainWindow: BrowserWindow | null = null;

const sink: EventSink = {
  emit<E extends EventName>(event: E, payload: EventMap[E]) {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(event, payload);
  },
};

// Recent projects live in the user's settings folder, never beside the data.
const state = createAppState({
  recentFile: join(app.getPath('userData'), 'recent-projects.json'),
  settingsFile: join(app.getPath('userData'), 'settings.json'),
});
// Paths from the renderer are accepted only inside what the user chose: dialogs, opened series, and the files and
// folders given on the command line (`electron .` in development puts the app folder first: skipped).
const paths = new PathGrants();
paths.grantCommandLine(process.argv.slice(process.defaultApp ? 2 : 1), process.cwd());
const registry = new IpcRegistry(
  createRequestHandlers({
    host: 'electron',
    versions: { electron: process.versions.electron ?? '', chrome: process.versions.chrome ?? '' },
    openDialog: async ({ title, directory, filters }) => {
      const options = {
        title,
        properties: directory ? (['openDirectory'] as const) : (['openFile'] as const),
        filters,
      };
      const result = mainWindow
        ? await dialog.showOpenDialog(mainWindow, { ...options, properties: [...options.properties] })
        : await dialog.showOpenDialog({ ...options, properties: [...options.properties] });
      return { canceled: result.canceled, paths: result.filePaths };
    },
  }, state),
  createJobHandlers(state),
  sink,
  { paths },
);

for (const channel of registry.channels()) {
  ipcMain.handle(channel, (event, args: unknown) => {
    // Only our own window may call services.
    if (!mainWindow || event.sender !== mainWindow.webContents) {
      return { ok: false, error: { name: 'SecurityError', message: 'IPC from an unknown frame' } };
    }
    return registry.handle(channel, args);
  });
}

function sendCommand(command: AppCommand): void {
  registry.emit('app:command', { command });
}

function buildMenu(): Menu {
  // Accelerators are shown but not registered: the renderer's one shortcut registry handles the keys,
  // so a shortcut and its menu item can never do two different things.
  const item = (label: string, command: AppCommand, accelerator?: string): MenuItemConstructorOptions => ({
    label,
    accelerator,
    registerAccelerator: false,
    click: () => sendCommand(command),
  });
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        item('Open Series…', 'file.open', 'CmdOrCtrl+O'),
        item('Open Project…', 'file.openProject', 'CmdOrCtrl+Shift+O'),
        item('Save Project As…', 'file.saveProjectAs', 'CmdOrCtrl+Shift+S'),
        item('Inspect File…', 'file.inspect', 'CmdOrCtrl+I'),
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    {
      label: 'Edit',
      submenu: [
        item('Undo', 'edit.undo', 'CmdOrCtrl+Z'),
        item('Redo', 'edit.redo', 'CmdOrCtrl+Shift+Z'),
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
      ],
    },
    {
      label: 'View',
      submenu: [
        item('Series', 'view.tab.series', '1'),
        item('Masks', 'view.tab.masks', '2'),
        item('Patterns', 'view.tab.patterns', '3'),
        item('Processing', 'view.tab.processing', '4'),
        item('Reciprocal Space', 'view.tab.reciprocal', '5'),
        item('Export', 'view.tab.export', '6'),
        { type: 'separator' },
        item('Toggle Log', 'view.toggleLog', 'CmdOrCtrl+L'),
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : ([{ role: 'toggleDevTools' }] as MenuItemConstructorOptions[])),
      ],
    },
    {
      label: 'Help',
      submenu: [item('Keyboard Shortcuts', 'help.shortcuts', '?'), item('About trackED', 'help.about')],
    },
  ];
  return Menu.buildFromTemplate(template);
}

function createWindow(): void {
  mainWindow = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    show: false,
    backgroundColor: '#14171c',
    title: 'trackED',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
    },
  });
  mainWindow.on('ready-to-show', () => mainWindow?.show());
  mainWindow.on('closed', () => {
    registry.jobs.cancelAll();
    void state.sessions.closeAll();
    mainWindow = null;
  });

  const devUrl = process.env['ELECTRON_RENDERER_URL'];
  const appOrigin = devUrl ? new URL(devUrl).origin : 'file://';
  mainWindow.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  mainWindow.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(appOrigin)) event.preventDefault();
  });
  mainWindow.webContents.on('will-redirect', (event, url) => {
    if (!url.startsWith(appOrigin)) event.preventDefault();
  });

  if (devUrl) void mainWindow.loadURL(devUrl);
  else void mainWindow.loadFile(join(here, '../renderer/index.html'));
}

// Every renderer sandboxed, whatever a window asks for (must run before ready).
app.enableSandbox();

app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, done) => done(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  Menu.setApplicationMenu(buildMenu());
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

// Fold the journal into masks.h5/project.json before quitting (nothing is lost if this is skipped:
// the journal is replayed on the next open).
let quitting = false;
app.on('before-quit', (event) => {
  if (quitting) return;
  event.preventDefault();
  quitting = true;
  registry.jobs.cancelAll();
  void state.sessions.closeAll().finally(() => app.quit());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('web-contents-created', (_event, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault());
});
