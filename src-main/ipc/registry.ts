// The registry binds every contract channel to its service and validates arguments at runtime before
// any service runs. Transports (Electron ipcMain, the e2e WebSocket host) only move envelopes in and out.
import type { z } from 'zod';
import {
  CONTROL,
  controlSchemas,
  jobs as jobDefs,
  requests as requestDefs,
  type EventMap,
  type EventName,
  type JobKind,
  type JobResult,
  type Jobs,
  type RequestChannel,
  type RequestResult,
  type Requests,
  type WireResult,
} from '../../src-shared/contract';
import { ValidationError, toWireError } from '../../src-shared/errors';
import { JobRunner, type JobContext } from '../services/jobs';
import type { PathGrants } from './path-grants';

export interface EventSink {
  emit<E extends EventName>(event: E, payload: EventMap[E]): void;
}

export type RequestHandlers = {
  [C in RequestChannel]: (args: z.output<Requests[C]['args']>) => Promise<RequestResult<C>> | RequestResult<C>;
};
export type JobHandlers = {
  [K in JobKind]: (args: z.output<Jobs[K]['args']>, ctx: JobContext) => Promise<JobResult<K>>;
};

/** Validates with a schema; the error names the failing field (`tilts.3.angleDeg`). */
export function validate<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(arguments)';
  const message = `Invalid argument for ${what}: ${field}: ${issue?.message ?? 'invalid'}`;
  throw new ValidationError(message, {
    field,
    channel: what,
    issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}

export interface RegistryOptions {
  progressIntervalMs?: number;
  /**
   * File-path policy (path-grants.ts): when given, every path argument (PATH_FIELDS) must lie inside what the user
   * chose — checked after the schema, before the handler — and dialog picks and opened series are granted.
   */
  paths?: PathGrants;
}

export class IpcRegistry {
  readonly jobs: JobRunner;
  private readonly paths: PathGrants | undefined;

  constructor(
    private readonly requestHandlers: RequestHandlers,
    private readonly jobHandlers: JobHandlers,
    private readonly sink: EventSink,
    options: RegistryOptions = {},
  ) {
    this.jobs = new JobRunner(sink, { progressIntervalMs: options.progressIntervalMs });
    this.paths = options.paths;
  }

  /** Every channel a transport must route to `handle`. */
  channels(): string[] {
    return [...Object.keys(requestDefs), CONTROL.startJob, CONTROL.cancelJob];
  }

  emit<E extends EventName>(event: E, payload: EventMap[E]): void {
    this.sink.emit(event, payload);
  }

  /** Handles one request; never throws: failures come back as `{ ok: false, error }`. */
  async handle(channel: string, rawArgs: unknown): Promise<WireResult> {
    try {
      return { ok: true, value: await this.dispatch(channel, rawArgs) };
    } catch (error) {
      return { ok: false, error: toWireError(error) };
    }
  }

  private async dispatch(channel: string, rawArgs: unknown): Promise<unknown> {
    if (channel === CONTROL.startJob) {
      const { kind, args } = validate(controlSchemas[CONTROL.startJob], rawArgs, channel);
      if (!Object.hasOwn(jobDefs, kind)) throw new ValidationError(`Unknown job kind: ${kind}`, { field: 'kind' });
      const jobKind = kind as JobKind;
      const parsed = this.admit(jobKind, validate(jobDefs[jobKind].args, args ?? {}, `job ${jobKind}`));
      const handler = this.jobHandlers[jobKind] as (a: unknown, ctx: JobContext) => Promise<unknown>;
      const jobId = this.jobs.start(jobKind, (ctx) => handler(parsed, ctx));
      return { jobId };
    }
    if (channel === CONTROL.cancelJob) {
      const { jobId } = validate(controlSchemas[CONTROL.cancelJob], rawArgs, channel);
      return { cancelled: this.jobs.cancel(jobId) };
    }
    if (!Object.hasOwn(requestDefs, channel)) {
      throw new ValidationError(`Unknown channel: ${channel}`, { field: 'channel' });
    }
    const c = channel as RequestChannel;
    const args = this.admit(c, validate(requestDefs[c].args, rawArgs ?? {}, c));
    const handler = this.requestHandlers[c] as (a: unknown) => unknown;
    const result = await handler(args);
    this.paths?.recordResult(c, result);
    return result;
  }

  /** Validated arguments with their file paths checked against the grants (unchanged without a policy). */
  private admit<A>(channel: string, args: A): A {
    return this.paths ? this.paths.checkArgs(channel, args) : args;
  }
}
