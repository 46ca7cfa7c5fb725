// The `tracked` command: the same services as the app, headless (DESIGN §6). Every command prints
// progress on a TTY, exits non-zero with one line on bad input, and writes nothing partial.
import { Command, CommanderError } from 'commander';
import pkg from '../package.json';
import { inspect } from './io/inspect';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tracked')
    .description('trackED: from a 4D-STEM tomography tilt series to a single-crystal structure')
    .version(pkg.version, '-V, --version', 'print the version')
    .showHelpAfterError('(run `tracked --help` for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('info')
    .description('print JSON: format, dataset path, scan and detector shapes, dtype, calibration, datasets')
    .argument('<path>', 'an HDF5 file, a .mib file, a series.json or a tilts.csv')
    .action(async (path: string) => {
      printJson(await inspect(path));
    });

  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). Never throws. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage mistakes were already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    const e = error instanceof Error ? error : new Error(String(error));
    const name = e.name && !['Error', 'TrackedError'].includes(e.name) ? `${e.name}: ` : '';
    process.stderr.write(`tracked: ${name}${e.message.split('\n')[0]}\n`);
    if (process.env['TRACKED_DEBUG'] && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
