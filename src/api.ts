import { context, trace } from '@opentelemetry/api';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { AcceptedDeliveries } from './accepted-deliveries.js';
import type { Config } from './config.js';
import { AcceptTimeoutError, Dispatcher, isTemporalUnavailable, type ActionResult, type DispatchResult } from './dispatch.js';
import { SCRAPE_DEADLINE_MS, type Metrics } from './metrics.js';
import { channelName } from './shared/channel-names.js';
import { KEY_PATTERN, runUrlFor, workflowIdFor } from './shared/ids.js';
import type { IncidentState } from './shared/incident.js';
import { postmortemMarkdown, postmortemOf } from './shared/postmortem.js';
import { incidentQuery, INCIDENT_WORKFLOW } from './shared/messages.js';
import { keyKey, severityKey, sourceKey, statusKey } from './shared/search-attributes.js';
import { actorNoteBody, apiSource } from './sources/generic.js';
import { SOURCE_REGISTRY } from './sources/index.js';
import {
  actionText,
  declaredIncident,
  declaredText,
  ephemeral,
  helpText,
  notInRoomText,
  parseSlashCommand,
  slackChannelUrl,
  statusText,
  unconfirmedText,
  type SlashRequest,
} from './sources/slack-commands.js';
import { parseInteraction, SLACK_ACCEPT_DEADLINE_MS, verifySlackRequest } from './sources/slack-interactions.js';
import { firstIssue, parseJson, type InboundRequest, type Normalised, type Source, type Verdict } from './sources/source.js';

export interface AppDeps {
  client: Client;
  config: Pick<Config, 'sources' | 'temporal' | 'slackSigningSecret' | 'slackChannelTemplate' | 'deliveryMemory' | 'budgets'>;
  logger: Logger;
  metrics: Metrics;
  /** The sources to mount (default: the registry); each gets `config.sources[name]` as its settings. */
  sources?: readonly Source[];
}

/** Largest body accepted; PagerDuty guarantees ≤ 55 KB, so this is generous. */
const BODY_LIMIT = '1mb';

/** A refusal the client can act on; never carries a secret. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function mediaType(req: Request): string | undefined {
  return req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}

/** 415 unless the request's content type is one of `accepted` (a body-less request passes when allowed). */
function requireContentType(accepted: readonly string[], allowEmpty = false) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const type = mediaType(req);
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    // An empty body has nothing to misread, whatever type the client library stamped on it.
    if (allowEmpty && !hasBody) return next();
    if (!type || !accepted.includes(type)) {
      return next(new HttpError(415, `unsupported content type ${type ?? '(none)'}; expected ${accepted.join(' or ')}`));
    }
    next();
  };
}

const rawBody = express.raw({ type: () => true, limit: BODY_LIMIT });

function inbound(req: Request): InboundRequest {
  return {
    body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    headers: req.headers,
    query: req.query as Record<string, unknown>,
  };
}

/** What one request came to, for the log line and the metrics (set by the route, read by `observe`). */
interface Outcome {
  /** The source or way in: `pagerduty`, `victorops`, `api`, `slack`. */
  source?: string;
  /** started, signaled, acknowledged, refused, invalid, unauthorized, unavailable, not-found... */
  outcome?: string;
  key?: string;
  /** Who asked (a Slack user, the API's `by`); a name, never a credential. */
  actor?: string;
  /** Slack: the button or command. */
  action?: string;
  /** Why, for refusals (never request data). */
  reason?: string;
}

const outcomeOf = (res: Response): Outcome => (res.locals.outcome ??= {}) as Outcome;

/** Routes whose requests are logged at debug (and not traced): probes and scrapes arrive every few seconds. */
export const QUIET_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** What every group of routes shares. */
interface Routes {
  app: Express;
  deps: Required<AppDeps>;
  dispatcher: Dispatcher;
  /** The API's own routes (actions, reads) take the same token as its source, POST /incidents. */
  requireApiToken: (req: Request, res: Response, next: NextFunction) => void;
  /** After a 503 for a timeout, logs whether Temporal took the call after all (a sender's retry is then a repeat). */
  logLateAnswer: (err: unknown, fields: { source: string; key?: string }) => void;
  /** Slack's routes answer 404 until SLACK_SIGNING_SECRET is set. */
  requireSlackSecret: (req: Request, res: Response, next: NextFunction) => void;
}

/** The HTTP ingress: verify → normalise → signal-with-start, and people's actions as updates. No listen() here. */
export function createApp(options: AppDeps): Express {
  const deps: Required<AppDeps> = { sources: SOURCE_REGISTRY, ...options };
  const { config, logger } = deps;
  deps.metrics.countOpenIncidentsWith(() => countOpenIncidents(deps.client));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(observeRequests(deps));
  const routes: Routes = {
    app,
    deps,
    dispatcher: new Dispatcher(
      deps.client,
      config.temporal.taskQueue,
      new AcceptedDeliveries({ capacity: config.deliveryMemory.size, ttlMs: config.deliveryMemory.ttlMs }),
      config.budgets.enabled,
    ),
    requireApiToken: (req, _res, next) => {
      const verdict = apiSource.authenticate?.(req.headers, config.sources.api) ?? { ok: true };
      next(verdict.ok ? undefined : new HttpError(verdict.status, verdict.error));
    },
    logLateAnswer: (err, fields) => {
      if (!(err instanceof AcceptTimeoutError)) return;
      void err.late.then((outcome) => logger.warn({ ...fields, outcome }, 'temporal answered after the deadline'));
    },
    requireSlackSecret: (_req, _res, next) => {
      if (!config.slackSigningSecret) return next(new HttpError(404, 'Slack is not configured: set SLACK_SIGNING_SECRET'));
      next();
    },
  };
  mountSources(routes);
  mountSlackInteractions(routes);
  mountSlackCommands(routes);
  mountIncidentActions(routes);
  mountReads(routes);
  mountOperations(routes);
  app.use((_req: Request, _res: Response, next: NextFunction) => next(new HttpError(404, 'not found')));
  app.use(handleErrors(logger));
  return app;
}

/**
 * One place measures and logs every request, whatever route and outcome: one line per request. When
 * tracing is on, the request's server span gets its route and what the request came to.
 */
function observeRequests({ logger, metrics }: Pick<AppDeps, 'logger' | 'metrics'>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const span = trace.getSpan(context.active());
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route?.path as string | undefined) ?? (res.statusCode === 404 ? '(none)' : req.path);
      const done = outcomeOf(res);
      const outcome = done.outcome ?? (res.statusCode < 400 ? 'ok' : String(res.statusCode));
      if (span?.isRecording()) {
        span.updateName(`${req.method} ${route}`);
        span.setAttributes({ 'http.route': route, 'warroom.outcome': outcome });
        if (done.source) span.setAttribute('warroom.source', done.source);
        if (done.key) span.setAttribute('warroom.incident_key', done.key);
      }
      metrics.requests.observe({ route, method: req.method, status: String(res.statusCode) }, seconds);
      if (done.source === 'slack') metrics.slackInteractions.inc({ action: done.action ?? 'none', outcome });
      else if (done.source) metrics.webhooks.inc({ source: done.source, outcome });
      if (done.source) metrics.latency.observe({ source: done.source }, seconds);
      const line = { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000), ...done, outcome };
      if (QUIET_ROUTES.has(route)) logger.debug(line, 'request');
      else logger.info(line, 'request');
    });
    next();
  };
}

/** Every source the same way: credentials in headers, content type, raw body, signature, normalise, dispatch. */
function mountSources({ app, deps, dispatcher, logLateAnswer }: Routes): void {
  /** Answers for one normalised event: 202 once Temporal has it durably; a note for an incident with no open run is ignored. */
  const answer = async (res: Response, source: string, normalised: Normalised) => {
    const done = (status: number, body: object, outcome: string, key?: string) => {
      Object.assign(outcomeOf(res), { source, outcome, key });
      res.status(status).json(body);
    };
    if ('invalid' in normalised) {
      return done(400, { error: normalised.invalid.message, field: normalised.invalid.field }, 'invalid');
    }
    if ('ignored' in normalised) return done(200, { ignored: normalised.ignored }, 'ignored');
    let result: DispatchResult;
    try {
      result = await dispatcher.dispatch(normalised.event);
    } catch (err) {
      Object.assign(outcomeOf(res), { source, key: normalised.event.key });
      logLateAnswer(err, { source, key: normalised.event.key });
      throw err;
    }
    if (result.outcome === 'not-open') return done(200, { ignored: `no open incident ${result.key}` }, 'ignored', result.key);
    return done(202, result, result.outcome, result.key);
  };

  /** Answers a refused webhook: counted and logged (by the request's line) with why, never with what was offered. */
  const refuse = (res: Response, source: string, verdict: Exclude<Verdict, { ok: true }>) => {
    Object.assign(outcomeOf(res), { source, outcome: 'unauthorized', reason: verdict.error });
    if (verdict.challenge) res.setHeader('WWW-Authenticate', verdict.challenge);
    res.status(verdict.status).json({ error: verdict.error });
  };

  for (const source of deps.sources) {
    const settings = (deps.config.sources as Record<string, unknown>)[source.name];
    const authenticate = (req: Request, res: Response, next: NextFunction) => {
      const verdict = source.authenticate?.(req.headers, settings) ?? { ok: true };
      if (verdict.ok) return next();
      refuse(res, source.name, verdict);
    };
    app.post(source.path, authenticate, requireContentType(source.contentTypes), rawBody, async (req, res) => {
      const request = inbound(req);
      const verdict = source.verify?.(request, settings) ?? { ok: true };
      if (!verdict.ok) return refuse(res, source.name, verdict);
      await answer(res, source.name, source.normalise(request));
    });
  }
}

/** Slack's Interactivity Request URL: clicks on the summary's Acknowledge / Resolve buttons. */
function mountSlackInteractions({ app, deps, dispatcher, logLateAnswer, requireSlackSecret }: Routes): void {
  const { config } = deps;
  app.post(
    '/slack/interactions',
    requireSlackSecret,
    requireContentType(['application/x-www-form-urlencoded']),
    rawBody,
    async (req, res, next) => {
      const done = (status: number, body: object | undefined, action: string, outcome: string, who: Outcome = {}) => {
        Object.assign(outcomeOf(res), { source: 'slack', action, outcome, ...who });
        if (body) res.status(status).json(body);
        else res.status(status).end();
      };
      const body = inbound(req).body;
      const verdict = verifySlackRequest(body, req.headers, config.slackSigningSecret ?? '', Math.floor(Date.now() / 1000));
      if (!verdict.ok) return done(401, { error: verdict.error }, 'none', 'unauthorized', { reason: verdict.error });
      const parsed = parseInteraction(body);
      if ('invalid' in parsed) return done(400, { error: parsed.invalid.message, field: parsed.invalid.field }, 'none', 'invalid');
      // Another app's button, or one of ours that means nothing here: Slack only needs the 200.
      if ('ignored' in parsed) return done(200, undefined, 'other', 'ignored');
      const { kind, key, actor } = parsed.interaction;
      let result: ActionResult;
      try {
        result = await dispatcher.act(key, kind, { by: actor, via: 'slack' }, SLACK_ACCEPT_DEADLINE_MS);
      } catch (err) {
        Object.assign(outcomeOf(res), { source: 'slack', action: kind, key, actor });
        logLateAnswer(err, { source: 'slack', key });
        // Slack never retries an interaction: a non-200 makes it show the clicker that the click
        // failed, so they press again, where a late or hopeful 200 would silently lose it.
        return next(err);
      }
      // The clicker sees why nothing changed; Slack wants a 200 for that, not an error.
      const tell = (text: string) => ({ response_type: 'ephemeral', replace_original: false, text });
      if (result.outcome === 'not-open') {
        return done(200, tell(`Incident ${key} is not open (resolved, or never opened here); nothing changed.`), kind, 'not-open', {
          key,
          actor,
        });
      }
      if (result.outcome === 'refused') {
        return done(200, tell(`Incident ${key}: ${result.reason}; nothing changed.`), kind, 'refused', {
          key,
          actor,
          reason: result.reason,
        });
      }
      return done(200, undefined, kind, result.outcome, { key, actor });
    },
  );
}

/**
 * Slack's `/incident` command (Request URL `/slack/commands`): declares an incident, or acts on the
 * incident whose room it is typed in. Verified as the buttons are; answered inside Slack's 3 s,
 * always with a 200 and words for the person (Slack shows any other status as a bare failure).
 */
function mountSlackCommands({ app, deps, dispatcher, logLateAnswer, requireSlackSecret }: Routes): void {
  const { config } = deps;
  const runUrl = (key: string) =>
    config.temporal.uiUrl ? runUrlFor(config.temporal.uiUrl, config.temporal.namespace, workflowIdFor(key)) : undefined;
  /** The declared incident's room as the template names it, before the worker has opened it. */
  const roomOf = (request: SlashRequest, externalId: string) => {
    const name = channelName(config.slackChannelTemplate, externalId);
    return { channelName: name, channelUrl: slackChannelUrl(request.team, name) };
  };
  const slash: SlashDeps = { dispatcher, runUrl, roomOf };

  app.post(
    '/slack/commands',
    requireSlackSecret,
    requireContentType(['application/x-www-form-urlencoded']),
    rawBody,
    async (req, res, next) => {
      const body = inbound(req).body;
      const verdict = verifySlackRequest(body, req.headers, config.slackSigningSecret ?? '', Math.floor(Date.now() / 1000));
      if (!verdict.ok) {
        Object.assign(outcomeOf(res), { source: 'slack', action: 'command', outcome: 'unauthorized', reason: verdict.error });
        return res.status(401).json({ error: verdict.error });
      }
      const parsed = parseSlashCommand(body);
      if ('invalid' in parsed) {
        Object.assign(outcomeOf(res), { source: 'slack', action: 'command', outcome: 'invalid' });
        return res.status(400).json({ error: parsed.invalid.message, field: parsed.invalid.field });
      }
      if ('ignored' in parsed) {
        Object.assign(outcomeOf(res), { source: 'slack', action: 'command', outcome: 'ignored', reason: parsed.ignored });
        return res.status(200).end();
      }
      const { request } = parsed;
      Object.assign(outcomeOf(res), { source: 'slack', action: request.command.kind, actor: request.user.name });
      try {
        const outcome = (value: string, key?: string) => Object.assign(outcomeOf(res), { outcome: value, key });
        res.status(200).json(await answerSlashCommand(slash, request, Date.now() + SLACK_ACCEPT_DEADLINE_MS, outcome));
      } catch (err) {
        const key = outcomeOf(res).key;
        logLateAnswer(err, { source: 'slack', key });
        if (!isTemporalUnavailable(err)) return next(err);
        // A repeat of this request (same trigger) finds what was done; the person is told how to check.
        outcomeOf(res).outcome = 'unavailable';
        deps.logger.warn({ err: describe(err), source: 'slack', key }, 'temporal did not answer a slash command in time');
        const event = request.command.kind === 'declare' ? declaredIncident(request, request.command) : undefined;
        const declared = event && { key: event.key, channelName: roomOf(request, event.externalId).channelName };
        res.status(200).json(ephemeral(unconfirmedText(request.command, request.name, declared)));
      }
    },
  );
}

interface SlashDeps {
  dispatcher: Dispatcher;
  runUrl: (key: string) => string | undefined;
  roomOf: (request: SlashRequest, externalId: string) => { channelName: string; channelUrl: string };
}

/**
 * What a verified `/incident` does, and the answer to it; `deadline` bounds every Temporal call it
 * makes together, `outcome` tells the request's log line and metrics what came of it.
 */
async function answerSlashCommand(
  { dispatcher, runUrl, roomOf }: SlashDeps,
  request: SlashRequest,
  deadline: number,
  outcome: (value: string, key?: string) => void,
): Promise<object> {
  const { command, name, user } = request;
  const left = () => Math.max(0, deadline - Date.now());
  if (command.kind === 'help') {
    outcome(command.problem ? 'invalid' : 'help');
    return ephemeral(helpText(name, command.problem));
  }
  if (command.kind === 'declare') {
    const event = declaredIncident(request, command);
    outcome('declaring', event.key);
    const result = await dispatcher.dispatch(event, left());
    outcome(result.outcome, event.key);
    return ephemeral(
      declaredText(event, { ...roomOf(request, event.externalId), runUrl: runUrl(event.key) }, result.outcome === 'started'),
    );
  }
  const key = await dispatcher.incidentInChannel(request.channel.id, left());
  if (!key) {
    outcome('not-in-room');
    return ephemeral(notInRoomText(name, command));
  }
  outcome('asking', key);
  if (command.kind === 'status') {
    const state = await dispatcher.openState(key, left());
    outcome(state ? 'status' : 'not-open', key);
    return ephemeral(state ? statusText(state, runUrl(key)) : notInRoomText(name, command));
  }
  // The request's digest: Temporal answers a repeat of it with the first answer, and the run records a note once.
  const updateId = `slack-${request.requestId}`;
  const payload =
    command.kind === 'note'
      ? { by: user.name, note: command.note, via: 'slack', id: request.requestId }
      : { by: user.name, ...(command.note ? { note: command.note } : {}), via: 'slack' };
  const result = await dispatcher.act(key, command.kind, payload, left(), updateId);
  outcome(result.outcome, key);
  return actionText(result, command, user.name);
}

/** Acknowledge, resolve, retry: updates on an open run, answered with what happened; no open run is a 404 and starts nothing. */
function mountIncidentActions({ app, dispatcher, requireApiToken, logLateAnswer }: Routes): void {
  for (const action of ['acknowledge', 'resolve', 'retry'] as const) {
    app.post(
      `/incidents/:key/${action}`,
      requireApiToken,
      requireContentType(['application/json'], true),
      rawBody,
      async (req, res, next) => {
        const key = String(req.params.key);
        Object.assign(outcomeOf(res), { source: 'api', action, key });
        if (!KEY_PATTERN.test(key)) return next(new HttpError(404, `no incident ${key}`));
        const body = inbound(req).body;
        const json = body.length === 0 ? { value: {} } : parseJson(body);
        if ('invalid' in json) return next(new HttpError(400, json.invalid.message, json.invalid.field));
        const parsed = actorNoteBody.safeParse(json.value);
        if (!parsed.success) {
          const issue = firstIssue(parsed.error.issues);
          return next(new HttpError(400, issue.message, issue.field));
        }
        const note = { by: parsed.data.by ?? 'API', note: parsed.data.note, via: 'api' };
        outcomeOf(res).actor = note.by;
        let result: ActionResult;
        try {
          result = await dispatcher.act(key, action, note);
        } catch (err) {
          logLateAnswer(err, { source: 'api', key });
          return next(err);
        }
        outcomeOf(res).outcome = result.outcome;
        switch (result.outcome) {
          case 'not-open':
            return next(new HttpError(404, `no open incident ${key}`));
          case 'refused':
            outcomeOf(res).reason = result.reason;
            return next(new HttpError(409, result.reason));
          case 'signaled':
            // A run of warroom 0.1: it took the signal and will act on it, but cannot say what it did.
            return res.status(202).json(result);
          default:
            return res.status(200).json(result);
        }
      },
    );
  }
}

/** The formats of `GET /incidents/:key/timeline`. */
const TIMELINE_FORMATS = ['json', 'markdown'] as const;

/** An incident's state and timeline, its postmortem document, and the open incidents. */
function mountReads({ app, deps, requireApiToken }: Routes): void {
  const { client } = deps;
  const { uiUrl, namespace } = deps.config.temporal;
  app.get('/incidents/:key', requireApiToken, async (req, res, next) => {
    const key = String(req.params.key);
    if (!KEY_PATTERN.test(key)) return next(new HttpError(404, `no incident ${key}`));
    try {
      res.json(await incidentState(client, key));
    } catch (err) {
      next(err instanceof WorkflowNotFoundError ? new HttpError(404, `no incident ${key}`) : err);
    }
  });

  // The postmortem timeline, as the Jira step writes it: the same renderer (src/shared/postmortem.ts).
  app.get('/incidents/:key/timeline', requireApiToken, async (req, res, next) => {
    const key = String(req.params.key);
    const format = req.query.format ?? 'json';
    if (!TIMELINE_FORMATS.includes(format as (typeof TIMELINE_FORMATS)[number])) {
      return next(new HttpError(400, `format must be one of ${TIMELINE_FORMATS.join(', ')}`, 'format'));
    }
    if (!KEY_PATTERN.test(key)) return next(new HttpError(404, `no incident ${key}`));
    let state: IncidentState;
    try {
      state = await incidentState(client, key);
    } catch (err) {
      return next(err instanceof WorkflowNotFoundError ? new HttpError(404, `no incident ${key}`) : err);
    }
    const document = postmortemOf(state, { runUrl: uiUrl ? runUrlFor(uiUrl, namespace, state.workflowId) : undefined });
    if (format === 'markdown') res.type('text/markdown; charset=utf-8').send(postmortemMarkdown(document));
    else res.json(document);
  });

  app.get('/incidents', requireApiToken, async (req, res, next) => {
    const limit = Math.min(Math.max(Number(req.query.limit) || 100, 1), 1000);
    try {
      res.json({ incidents: await openIncidents(client, limit) });
    } catch (err) {
      next(err);
    }
  });
}

/** Liveness, readiness (Temporal reachable) and Prometheus metrics. */
function mountOperations({ app, deps }: Routes): void {
  const { client, metrics } = deps;
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/readyz', async (_req, res) => {
    try {
      await client.connection.withDeadline(Date.now() + 2000, () => client.connection.workflowService.getSystemInfo({}));
      res.json({ ok: true, temporal: 'reachable' });
    } catch (err) {
      res.status(503).json({ ok: false, temporal: 'unreachable', error: describe(err) });
    }
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.exposition());
  });
}

/**
 * Express error handler: body-parser errors carry `status`/`type`; Temporal's unavailability is a
 * 503 (retry later); anything else is a bug, a 500 (retrying would fail the same way).
 */
function handleErrors(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = errorStatus(err);
    if (status >= 500) {
      const done = outcomeOf(res);
      done.outcome = status === 503 ? 'unavailable' : 'error';
      logger.error(
        { err: describe(err), route: req.route?.path ?? req.path, key: done.key, source: done.source },
        status === 503 ? 'temporal is unavailable' : 'request failed',
      );
    } else if (err instanceof HttpError) {
      outcomeOf(res).outcome ??=
        status === 401 ? 'unauthorized' : status === 404 ? 'not-found' : status === 415 ? 'unsupported' : 'invalid';
    }
    const body: { error: string; field?: string } = { error: errorMessage(err, status) };
    if (err instanceof HttpError && err.field) body.field = err.field;
    if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    res.status(status).json(body);
  };
}

function errorStatus(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  const bodyError = err as { type?: string; status?: number };
  if (bodyError.type === 'entity.too.large') return 413;
  // The client's mistakes carry a 4xx status, with or without a `type` (body-parser's corrupt gzip/deflate/br body
  // has none, nor has the router's malformed %-escape in a path parameter); no Temporal error has a 4xx status.
  if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) return bodyError.status;
  return isTemporalUnavailable(err) ? 503 : 500;
}

function errorMessage(err: unknown, status: number): string {
  if (err instanceof HttpError) return err.message;
  if (status === 413) return `body larger than ${BODY_LIMIT}`;
  if (status === 503) return 'Temporal is unavailable; retry later';
  if (status < 500) return (err as Error).message;
  return 'internal error';
}

/** An error as a log field: name and message, never request data. */
function describe(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}

/** The state of the incident's latest run: queried while open, the run's result once closed. */
async function incidentState(client: Client, key: string): Promise<IncidentState> {
  const handle = client.workflow.getHandle(workflowIdFor(key));
  return client.connection.withDeadline(Date.now() + 5000, async () => {
    const description = await handle.describe();
    if (description.status.name === 'COMPLETED') return (await handle.result()) as IncidentState;
    return handle.query(incidentQuery);
  });
}

/** Open incidents by status, for `warroom_open_incidents`: one visibility count per status, under the scrape's deadline. */
async function countOpenIncidents(client: Client): Promise<Record<string, number>> {
  const open = `WorkflowType = '${INCIDENT_WORKFLOW}' AND ExecutionStatus = 'Running'`;
  return client.connection.withDeadline(Date.now() + SCRAPE_DEADLINE_MS, async () => {
    const counts = await Promise.all(
      (['triggered', 'acknowledged'] as const).map(
        async (status) => [status, (await client.workflow.count(`${open} AND ${statusKey.name} = '${status}'`)).count] as const,
      ),
    );
    return Object.fromEntries(counts);
  });
}

interface IncidentSummary {
  key: string;
  workflowId: string;
  title?: string;
  source?: string;
  status?: string;
  severity?: string;
  startedAt: string;
}

/** Open incidents, from Temporal visibility. */
async function openIncidents(client: Client, limit: number): Promise<IncidentSummary[]> {
  // A resolved incident's run stays open while its channel waits to be archived: not an open incident.
  const query = `WorkflowType = '${INCIDENT_WORKFLOW}' AND ExecutionStatus = 'Running' AND ${statusKey.name} != 'resolved'`;
  const incidents: IncidentSummary[] = [];
  for await (const run of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
    const attributes = run.typedSearchAttributes;
    incidents.push({
      key: attributes.get(keyKey) ?? run.workflowId.replace(/^incident-/, ''),
      workflowId: run.workflowId,
      title: typeof run.memo?.title === 'string' ? run.memo.title : undefined,
      source: attributes.get(sourceKey),
      status: attributes.get(statusKey),
      severity: attributes.get(severityKey),
      startedAt: run.startTime.toISOString(),
    });
    if (incidents.length >= limit) break;
  }
  return incidents;
}
