// `npm run lint:electron`: the Electron security checklist, checked by @doyensec/electronegativity and compared with
// build/electronegativity-justified.json. Every finding is printed as `CHECK file:line — justified: reason` or
// `— UNJUSTIFIED`; the run fails on an unjustified finding, on a justification that matches no finding (so the list
// cannot go stale), and when the scanner itself cannot run or cannot parse a file.
//
// What is scanned: the sources, not the built out/. The scanner's checks are about how the code configures Electron
// (webPreferences, session handlers, navigation, openExternal, the CSP), and that is the code in src-main/index.ts,
// src-preload/index.ts and src-renderer/index.html; in the sources a finding points at the line to edit, the scan needs
// no build (so it runs beside eslint), and it does not wade through the Vue, Pinia and vtk.js code the renderer bundle
// inlines (minified, with nothing to say about Electron). src-shared (loaded by the preload and the renderer) and the
// rest of src-main are scanned too; specs are not (they are not shipped). package.json goes along so the scanner knows
// the Electron version and checks the scripts' command lines. `.vue` files are not among the scanner's file types: its
// HTML checks look for <webview> tags and CSP meta tags, which the templates do not use (and the renderer imports
// neither electron nor Node, which eslint enforces).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const JUSTIFIED = 'build/electronegativity-justified.json';
const SCANNED = ['package.json', 'src-main', 'src-preload', 'src-renderer', 'src-shared'];
// AvailableSecurityFixesGlobalCheck asks GitHub for Electron's release list on every run, so its answer depends on
// the network and on the day; the Electron version is kept current through package.json and the lockfile instead.
const EXCLUDED_CHECKS = ['AvailableSecurityFixesGlobalCheck'];
/** Exit codes: 0 clean, 1 unjustified findings or stale justifications, 2 the scan could not be done. */
const EXIT = { ok: 0, findings: 1, broken: 2 };

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'usage: npm run lint:electron\n' +
      `  Runs the electronegativity Electron security scanner over ${SCANNED.join(', ')}\n` +
      `  and compares its findings with ${JUSTIFIED} (one entry per finding: check, file,\n` +
      '  optional code excerpt, reason). Exit 1 on an unjustified finding or on a justification that matches no\n' +
      '  finding; exit 2 when the scanner cannot run or cannot parse a file.\n',
  );
  process.exit(EXIT.ok);
}

class ScanError extends Error {}

/**
 * The scanner, loaded so that it stays offline: its translation loader fetches the locale from a web server on every
 * run (a 1 s timeout when offline); the messages it ships in en-US are used instead.
 */
function loadScanner() {
  const require = createRequire(import.meta.url);
  let pkgFile;
  try {
    pkgFile = require.resolve('@doyensec/electronegativity/package.json');
  } catch {
    throw new ScanError('@doyensec/electronegativity is not installed (run `npm ci`)');
  }
  const i18nFile = join(dirname(pkgFile), 'dist', 'locales', 'i18n.js');
  if (!existsSync(i18nFile)) throw new ScanError(`electronegativity changed its layout: ${i18nFile} is missing`);
  const i18n = createRequire(i18nFile)('i18n');
  const offline = new Module(i18nFile);
  offline.filename = i18nFile;
  offline.loaded = true;
  offline.exports = async () => {
    i18n.configure({
      locales: ['en-US'],
      defaultLocale: 'en-US',
      directory: dirname(i18nFile),
      objectNotation: true,
      updateFiles: false,
      register: globalThis,
    });
    i18n.setLocale('en-US');
  };
  require.cache[i18nFile] = offline;
  return { run: require('@doyensec/electronegativity'), version: JSON.parse(readFileSync(pkgFile, 'utf8')).version };
}

/** The justification list, checked for shape: [{ check, file, code?, reason }]. */
function readJustified() {
  let list;
  try {
    list = JSON.parse(readFileSync(join(ROOT, JUSTIFIED), 'utf8'));
  } catch (e) {
    throw new ScanError(`cannot read ${JUSTIFIED}: ${e.message}`);
  }
  const isText = (v) => typeof v === 'string' && v.trim() !== '';
  if (!Array.isArray(list)) throw new ScanError(`${JUSTIFIED} must hold an array`);
  list.forEach((j, i) => {
    if (!isText(j?.check) || !isText(j.file) || !isText(j.reason) || (j.code !== undefined && !isText(j.code))) {
      throw new ScanError(`${JUSTIFIED}[${i}] needs "check", "file" and "reason" (and "code", if given) as text`);
    }
  });
  return list;
}

/** Copies what is scanned (without specs) into a fresh folder, so that file names in findings are repo paths. */
function copySources(dir) {
  const isSpec = (p) => p.split(sep).includes('__tests__') || /\.spec\.[cm]?[jt]sx?$/.test(p);
  for (const p of SCANNED) {
    const from = join(ROOT, p);
    if (!existsSync(from)) throw new ScanError(`${p} is missing`);
    cpSync(from, join(dir, p), { recursive: true, filter: (src) => !isSpec(src) });
  }
}

/** The scanner's findings, with repo-relative paths and the flagged source line; throws when it could not scan. */
async function scan(run, dir) {
  let result;
  try {
    result = await run({ input: dir, isRelative: true, excludeFromScan: EXCLUDED_CHECKS.map((c) => c.toLowerCase()) });
  } catch (e) {
    throw new ScanError(`the scanner failed: ${e?.stack ?? e}`);
  }
  if (!result || !Array.isArray(result.issues) || !(result.atomicChecks > 0)) {
    throw new ScanError('the scanner returned no result');
  }
  for (const e of result.errors) {
    process.stdout.write(`${e.tolerable ? 'warning' : 'ERROR'}: ${relative(dir, e.file)}: ${e.message}\n`);
  }
  const broken = result.errors.filter((e) => !e.tolerable);
  if (broken.length) throw new ScanError(`the scanner could not parse ${broken.length} file(s), so they were not checked`);
  const lines = new Map();
  const lineOf = (file, n) => {
    const path = join(dir, file);
    if (!lines.has(file)) lines.set(file, existsSync(path) ? readFileSync(path, 'utf8').split('\n') : []);
    return (lines.get(file)[n - 1] ?? '').trim();
  };
  const findings = result.issues.map((i) => {
    const file = i.file.split(sep).join('/');
    const line = i.location?.line ?? 0;
    return {
      check: i.id,
      file,
      line,
      description: i.description,
      rating: `${i.severity?.name}/${i.confidence?.name}`,
      url: i.shortenedURL,
      // What was flagged: the scanner's sample (for a CSP finding, the policy) and the source line.
      sample: typeof i.sample === 'string' ? i.sample.trim() : '',
      source: lineOf(file, line),
    };
  });
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.check.localeCompare(b.check));
  return { findings, checks: result.atomicChecks + result.globalChecks };
}

/**
 * Pairs each finding with an unused justification of the same check and file, one justification per finding (a second
 * openExternal call needs its own entry). An entry with `code` must find that text in what was flagged, so a changed
 * line is no longer covered by a reason written for the old one; entries with `code` are tried first.
 */
function judge(findings, justified) {
  const used = new Set();
  const fits = (f, withCode) => (j, idx) =>
    !used.has(idx) && j.check === f.check && j.file === f.file &&
    (withCode ? j.code !== undefined && (f.sample.includes(j.code) || f.source.includes(j.code)) : j.code === undefined);
  const judged = findings.map((f) => {
    let k = justified.findIndex(fits(f, true));
    if (k < 0) k = justified.findIndex(fits(f, false));
    if (k >= 0) used.add(k);
    return { ...f, justification: k >= 0 ? justified[k] : undefined };
  });
  return { judged, stale: justified.filter((_, idx) => !used.has(idx)) };
}

async function main() {
  const { run, version } = loadScanner();
  const justified = readJustified();
  scanDir = mkdtempSync(join(tmpdir(), 'tracked-electronegativity-'));
  copySources(scanDir);
  const scanned = await scan(run, scanDir);
  const { judged, stale } = judge(scanned.findings, justified);
  for (const f of judged) {
    const where = `${f.check} ${f.file}:${f.line}`;
    if (f.justification) process.stdout.write(`${where} — justified: ${f.justification.reason}\n`);
    else process.stdout.write(`${where} — UNJUSTIFIED (${f.rating}): ${f.description} ${f.url ?? ''}\n    ${f.sample || f.source}\n`);
  }
  for (const j of stale) {
    process.stdout.write(`STALE ${j.check} ${j.file}${j.code ? ` (${j.code})` : ''} — matches no finding (the code it covered changed or is gone): update or remove it in ${JUSTIFIED}\n`);
  }
  const unjustified = judged.filter((f) => !f.justification).length;
  process.stdout.write(
    `electronegativity ${version}, ${scanned.checks} checks: ${judged.length} findings, ${judged.length - unjustified} justified, ` +
      `${unjustified} unjustified; ${stale.length} stale justifications\n`,
  );
  return unjustified || stale.length ? EXIT.findings : EXIT.ok;
}

// The scanner calls process.exit itself on some errors (a misspelt check name, a bad option): never read as a verdict.
// The copy of the sources goes on every exit, that one included.
let reported = false;
let scanDir;
process.on('exit', (code) => {
  if (scanDir) rmSync(scanDir, { recursive: true, force: true });
  if (reported) return;
  process.stderr.write(`lint:electron: the scanner ended the process (exit ${code}) before any report\n`);
  process.exitCode = EXIT.broken;
});

main().then(
  (code) => {
    reported = true;
    process.exit(code);
  },
  (e) => {
    reported = true;
    process.stderr.write(`lint:electron: ${e instanceof ScanError ? e.message : e?.stack ?? e}\n`);
    process.exit(EXIT.broken);
  },
);
