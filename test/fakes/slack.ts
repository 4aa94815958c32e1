import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadSlackSpec, type SlackSpec } from './slack-spec.js';
import { seededRandom } from './http.js';

/** The bot token the fake accepts unless told otherwise (shaped like a real one, worth nothing). */
export const FAKE_SLACK_TOKEN = 'xoxb-000000000000-0000000000000-warroomFakeBotToken0';

/** Scopes of the fake's bot: everything warroom's Slack activities use (see README / report). */
export const WARROOM_BOT_SCOPES = [
  'channels:manage',
  'channels:read',
  'channels:history',
  'groups:write',
  'groups:read',
  'groups:history',
  'chat:write',
  'chat:write.public',
  'chat:write.customize',
  'users:read',
  'users:read.email',
  'pins:write',
];

const TEAM_ID = 'T0WARROOM1';
const BOT = { userId: 'U0WARBOT01', botId: 'B0WARBOT01', appId: 'A0WARAPP01', name: 'warroom' };
const MAX_CHANNEL_NAME = 80;
const MAX_TOPIC = 250;
const MAX_TEXT = 40_000;

const RATE_LIMITED_BODY = readFileSync(new URL('../fixtures/slack-ratelimited-429-response.json', import.meta.url), 'utf8');

export interface FakeUser {
  id: string;
  name: string;
  realName: string;
  email?: string;
  isBot?: boolean;
}

export interface FakeChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  isArchived: boolean;
  isGeneral: boolean;
  creator: string;
  created: number;
  topic: { value: string; creator: string; last_set: number };
  purpose: { value: string; creator: string; last_set: number };
  members: Set<string>;
  pins: Set<string>;
}

export interface FakeMessage {
  type: 'message';
  ts: string;
  text: string;
  user: string;
  subtype?: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  username?: string;
  icons?: { emoji?: string; image_64?: string };
  thread_ts?: string;
  topic?: string;
  inviter?: string;
  edited?: { user: string; ts: string };
}

export interface SlackState {
  users: FakeUser[];
  channels: FakeChannel[];
  /** Messages per channel id, oldest first. */
  messages: Map<string, FakeMessage[]>;
}

interface Identity {
  userId: string;
  botId?: string;
  scopes: Set<string>;
}

export interface RecordedRequest {
  /** When the fake received it (ms since the epoch): lets tests check Retry-After was honoured. */
  receivedAt: number;
  /** Web API method (`chat.postMessage`) or the raw path when it was not `/api/<method>`. */
  method: string;
  httpMethod: string;
  /** Arguments as received, token removed. */
  args: Record<string, string>;
  /** Whether an Authorization header was present (its value is never kept). */
  bearer: boolean;
  status: number;
  body: unknown;
  /** How the request differed from the spec (unknown method or argument, missing or mistyped field, bad content type). */
  specProblems: string[];
  /** How the fake's own answer differed from the documented response schema: a bug in the fake. */
  answerProblems: string[];
  fault?: 'hang' | '429' | '500' | 'applied-then-500';
}

export interface SlackFakeOptions {
  /** Bot token accepted (default FAKE_SLACK_TOKEN). */
  token?: string;
  scopes?: string[];
  /** People in the workspace (default: dana, sam, lee, riley at example.com). */
  users?: Array<{ email: string; id?: string; name?: string; realName?: string }>;
  /** Spec file to check requests against; a missing file prints one notice and uses the built-in table. */
  specPath?: string;
  /** Seed for the error-rate dice, so a failing run repeats. */
  seed?: number;
}

interface MethodFaults {
  errorRate: number;
  rateLimited: number;
  retryAfterSec: number;
  latencyMs: number;
  hang: boolean;
  applyThenFail: number;
}

export interface SlackFaults {
  /** Answer HTTP 500 (changing nothing) to this share of calls. `*` means every method. */
  errorRate(method: string, rate: number): void;
  /** Answer the next `count` calls with 429, `Retry-After: retryAfterSec` and Slack's body. */
  rateLimit(method: string, count: number, retryAfterSec?: number): void;
  latency(method: string, ms: number): void;
  /** Never answer (until `hang(method, false)` or `stop()`). */
  hang(method: string, on?: boolean): void;
  /** Apply the next `count` calls, then answer HTTP 500 instead of the result. */
  applyThenFail(method: string, count?: number): void;
  /**
   * Enforce Slack's per-method limits as Slack does: at most `perMinute` calls of a method in any
   * 60 s (a minute's burst, then that many a minute); beyond it 429 with the Retry-After that frees
   * a slot. Methods not listed are not limited. `undefined` turns it off.
   */
  tierLimits(limits: Record<string, number> | undefined): void;
  clear(method?: string): void;
}

/** Slack's published per-method tiers for the methods warroom calls (https://api.slack.com/apis/rate-limits). */
export const SLACK_TIER_LIMITS: Record<string, number> = {
  'conversations.create': 20,
  'conversations.setTopic': 20,
  'conversations.archive': 20,
  'pins.add': 20,
  'conversations.invite': 50,
  'conversations.info': 50,
  'conversations.history': 50,
  'users.lookupByEmail': 50,
  'users.conversations': 50,
  'chat.update': 50,
};

export interface SlackFake {
  /** Base URL for WebClient's `slackApiUrl`: `http://127.0.0.1:<port>/api/`. */
  url: string;
  token: string;
  bot: { userId: string; botId: string; appId: string; teamId: string };
  /** `spec` when requests are checked against ../shared/specs, `built-in` otherwise. */
  specSource: SlackSpec['source'];
  requests: RecordedRequest[];
  state: SlackState;
  faults: SlackFaults;
  /** Every spec or answer problem seen so far, one line each. */
  problems(): string[];
  calls(method: string): RecordedRequest[];
  addUser(user: { email: string; id?: string; name?: string; realName?: string }): FakeUser;
  addChannel(channel: { name: string; creator?: string; isPrivate?: boolean; isArchived?: boolean; members?: string[] }): FakeChannel;
  /** Another token (a person, another app) with its own identity and scopes. */
  addToken(token: string, identity: { userId: string; botId?: string; scopes?: string[] }): void;
  /** The bot token's scopes from now on (`reset()` restores the options' scopes). */
  setScopes(scopes: string[]): void;
  channelByName(name: string): FakeChannel | undefined;
  messages(channelId: string): FakeMessage[];
  userByEmail(email: string): FakeUser | undefined;
  reset(): void;
  /** Closes the server and ends every open (hung) request. */
  stop(): Promise<void>;
}

const DEFAULT_USERS = [
  { email: 'dana.oncall@example.com', id: 'U0DANA001', name: 'dana.oncall', realName: 'Dana Oncall' },
  { email: 'sam.sre@example.com', id: 'U0SAMSRE01', name: 'sam.sre', realName: 'Sam Sre' },
  { email: 'lee.dev@example.com', id: 'U0LEEDEV01', name: 'lee.dev', realName: 'Lee Dev' },
  { email: 'riley.ops@example.com', id: 'U0RILEY001', name: 'riley.ops', realName: 'Riley Ops' },
];

class Refusal extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
  }
}

const noFaults = (): MethodFaults => ({
  errorRate: 0,
  rateLimited: 0,
  retryAfterSec: 1,
  latencyMs: 0,
  hang: false,
  applyThenFail: 0,
});

/** A Slack Web API on 127.0.0.1 with state, checked against the shared spec, with fault injection. */
export async function startSlackFake(options: SlackFakeOptions = {}): Promise<SlackFake> {
  const spec = loadSlackSpec(options.specPath);
  const token = options.token ?? FAKE_SLACK_TOKEN;
  const botScopes = options.scopes ?? WARROOM_BOT_SCOPES;
  const tokens = new Map<string, Identity>();
  const state: SlackState = { users: [], channels: [], messages: new Map() };
  const requests: RecordedRequest[] = [];
  const faults = new Map<string, MethodFaults>();
  let tierLimits: Record<string, number> | undefined;
  /** When each limited method was last answered (not 429), oldest first, within the last minute. */
  const windows = new Map<string, number[]>();
  const hung = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let random = seededRandom(options.seed ?? 1);
  let idCounter = 0;
  let lastMicros = 0;

  const nextId = (prefix: string) => `${prefix}0W${String(++idCounter).padStart(7, '0')}`;
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const nextTs = () => {
    lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, '0')}`;
  };

  const addUser: SlackFake['addUser'] = (user) => {
    const created: FakeUser = {
      id: user.id ?? nextId('U'),
      email: user.email.toLowerCase(),
      name: user.name ?? user.email.split('@')[0] ?? 'user',
      realName: user.realName ?? user.name ?? user.email,
    };
    state.users.push(created);
    return created;
  };

  const seed = () => {
    state.users.length = 0;
    state.channels.length = 0;
    state.messages.clear();
    tokens.clear();
    state.users.push({ id: BOT.userId, name: BOT.name, realName: 'warroom', isBot: true });
    for (const user of options.users ?? DEFAULT_USERS) addUser(user);
    tokens.set(token, { userId: BOT.userId, botId: BOT.botId, scopes: new Set(botScopes) });
  };
  seed();

  const addChannel: SlackFake['addChannel'] = (channel) => {
    const creator = channel.creator ?? 'U0RILEY001';
    const created: FakeChannel = {
      id: nextId('C'),
      name: channel.name,
      isPrivate: channel.isPrivate ?? false,
      isArchived: channel.isArchived ?? false,
      isGeneral: false,
      creator,
      created: nowSeconds(),
      topic: { value: '', creator: '', last_set: 0 },
      purpose: { value: '', creator: '', last_set: 0 },
      members: new Set([creator, ...(channel.members ?? [])]),
      pins: new Set(),
    };
    state.channels.push(created);
    state.messages.set(created.id, []);
    return created;
  };

  const faultsFor = (method: string): MethodFaults[] =>
    [faults.get(method), faults.get('*')].filter((entry): entry is MethodFaults => entry !== undefined);
  const setFault = (method: string, change: (entry: MethodFaults) => void) => {
    const entry = faults.get(method) ?? noFaults();
    change(entry);
    faults.set(method, entry);
  };

  const handlers = createHandlers({ state, addChannel, nextTs, nowSeconds });

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake Slack crashed: ${(err as Error).stack ?? String(err)}`);
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    const record: RecordedRequest = {
      receivedAt: Date.now(),
      method: match?.[1] ?? url.pathname,
      httpMethod: req.method ?? 'GET',
      args: {},
      bearer: Boolean(req.headers.authorization),
      status: 0,
      body: undefined,
      specProblems: [],
      answerProblems: [],
    };
    requests.push(record);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      record.body = body;
      if (res.destroyed) return;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8', ...headers });
      res.end(text);
    };

    if (!match) {
      record.specProblems.push(`no such path: ${url.pathname}`);
      return answer(404, 'Not Found');
    }
    const name = match[1] as string;
    const shape = spec.method(name);
    if (!shape) {
      record.specProblems.push(`unknown method ${name}`);
      return answer(404, { ok: false, error: 'unknown_method', req_method: name });
    }

    if (!shape.httpMethods.has(record.httpMethod)) {
      record.specProblems.push(`${record.httpMethod} is not accepted by ${name}`);
      return answer(405, 'Method Not Allowed');
    }
    const args: Record<string, string> = Object.fromEntries(url.searchParams);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    let jsonBody = false;
    if (record.httpMethod === 'POST' && raw.length > 0) {
      if (contentType === 'application/x-www-form-urlencoded') {
        Object.assign(args, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))));
      } else if (contentType === 'application/json') {
        jsonBody = true;
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch {
          record.specProblems.push('body is not JSON');
          return answer(200, { ok: false, error: 'invalid_json' });
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          record.specProblems.push('JSON body is not an object');
          return answer(200, { ok: false, error: 'json_not_object' });
        }
        if (shape.acceptsJson) {
          for (const [key, value] of Object.entries(parsed)) {
            if (value !== undefined && value !== null) args[key] = typeof value === 'string' ? value : JSON.stringify(value);
          }
        } else {
          record.specProblems.push(`${name} does not read JSON bodies: its arguments were ignored`);
        }
      } else {
        record.specProblems.push(`content type ${contentType || '(none)'} is not form-urlencoded or JSON`);
        return answer(200, { ok: false, error: 'invalid_post_type' });
      }
    }

    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const presented = bearer ?? (jsonBody ? undefined : args.token);
    delete args.token;
    record.args = { ...args };
    // Faults come after the arguments are read, so a faulted call is recorded with what it was for.
    for (const entry of faultsFor(name)) {
      if (entry.hang) {
        record.fault = 'hang';
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
    }
    const latency = Math.max(0, ...faultsFor(name).map((entry) => entry.latencyMs));
    if (latency > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, latency);
        timers.add(timer);
      });
    }
    const perMinute = tierLimits?.[name];
    if (perMinute !== undefined) {
      const now = Date.now();
      const window = (windows.get(name) ?? []).filter((at) => at > now - 60_000);
      windows.set(name, window);
      if (window.length >= perMinute) {
        record.fault = '429';
        const retryAfterSec = Math.max(1, Math.ceil(((window[0] ?? now) + 60_000 - now) / 1000));
        return answer(429, JSON.parse(RATE_LIMITED_BODY), { 'retry-after': String(retryAfterSec) });
      }
      window.push(now);
    }
    const limited = faultsFor(name).find((entry) => entry.rateLimited > 0);
    if (limited) {
      limited.rateLimited -= 1;
      record.fault = '429';
      return answer(429, JSON.parse(RATE_LIMITED_BODY), { 'retry-after': String(limited.retryAfterSec) });
    }
    if (faultsFor(name).some((entry) => entry.errorRate > 0 && random() < entry.errorRate)) {
      record.fault = '500';
      return answer(500, 'Internal Server Error');
    }

    if (!presented) return answer(200, { ok: false, error: 'not_authed' });
    const caller = tokens.get(presented);
    if (!caller) return answer(200, { ok: false, error: 'invalid_auth' });
    // Slack names the token's scopes on every answer to a valid token, comma-separated: [code]
    // node-slack-sdk WebClient.ts reads `x-oauth-scopes` into response_metadata.scopes; [obs]
    // slack-ruby/slack-ruby-client#378 ("the only way to check the scopes on an existing token").
    const scopesHeader = { 'x-oauth-scopes': [...caller.scopes].join(',') };

    const refusal = spec.checkArguments(name, args);
    if (refusal) {
      record.specProblems.push(...refusal.messages);
      return answer(200, { ok: false, error: refusal.error, response_metadata: { messages: refusal.messages } }, scopesHeader);
    }
    const handler = handlers[name];
    if (!handler) {
      record.specProblems.push(`${name} is in the spec but not implemented by the fake`);
      return answer(200, { ok: false, error: 'fake_not_implemented' }, scopesHeader);
    }
    let body: Record<string, unknown>;
    try {
      body = handler(caller, args);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      body = { ok: false, error: err.error, ...err.extra };
    }
    record.answerProblems.push(...spec.checkResponse(name, body));
    const failAfter = faultsFor(name).find((entry) => entry.applyThenFail > 0);
    if (failAfter) {
      failAfter.applyThenFail -= 1;
      record.fault = 'applied-then-500';
      return answer(500, 'Internal Server Error');
    }
    return answer(200, body, scopesHeader);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api/`,
    token,
    bot: { userId: BOT.userId, botId: BOT.botId, appId: BOT.appId, teamId: TEAM_ID },
    specSource: spec.source,
    requests,
    state,
    faults: {
      errorRate: (method, rate) => setFault(method, (entry) => void (entry.errorRate = rate)),
      rateLimit: (method, count, retryAfterSec = 1) =>
        setFault(method, (entry) => {
          entry.rateLimited = count;
          entry.retryAfterSec = retryAfterSec;
        }),
      latency: (method, ms) => setFault(method, (entry) => void (entry.latencyMs = ms)),
      hang: (method, on = true) => setFault(method, (entry) => void (entry.hang = on)),
      applyThenFail: (method, count = 1) => setFault(method, (entry) => void (entry.applyThenFail = count)),
      tierLimits: (limits) => {
        tierLimits = limits;
        windows.clear();
      },
      clear: (method) => (method ? faults.delete(method) : faults.clear()),
    },
    problems: () =>
      requests.flatMap((request) => [
        ...request.specProblems.map((problem) => `${request.method}: ${problem}`),
        ...request.answerProblems.map((problem) => `${request.method} (fake's answer): ${problem}`),
      ]),
    calls: (method) => requests.filter((request) => request.method === method),
    addUser,
    addChannel,
    addToken: (extra, identity) =>
      tokens.set(extra, { userId: identity.userId, botId: identity.botId, scopes: new Set(identity.scopes ?? botScopes) }),
    setScopes: (scopes) => void (tokens.get(token)!.scopes = new Set(scopes)),
    channelByName: (channelName) => state.channels.find((channel) => channel.name === channelName),
    messages: (channelId) => state.messages.get(channelId) ?? [],
    userByEmail: (email) => state.users.find((user) => user.email === email.toLowerCase()),
    reset() {
      seed();
      requests.length = 0;
      faults.clear();
      random = seededRandom(options.seed ?? 1);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const res of hung) res.destroy();
        hung.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface HandlerDeps {
  state: SlackState;
  addChannel: SlackFake['addChannel'];
  nextTs: () => string;
  nowSeconds: () => number;
}

type Handler = (caller: Identity, args: Record<string, string>) => Record<string, unknown>;

function createHandlers({ state, addChannel, nextTs, nowSeconds }: HandlerDeps): Record<string, Handler> {
  const need = (caller: Identity, ...anyOf: string[]) => {
    if (!anyOf.some((scope) => caller.scopes.has(scope))) {
      throw new Refusal('missing_scope', { needed: anyOf.join(','), provided: [...caller.scopes].join(',') });
    }
  };
  const manageScope = (channel: FakeChannel) => (channel.isPrivate ? 'groups:write' : 'channels:manage');
  const readScope = (channel: FakeChannel) => (channel.isPrivate ? 'groups:read' : 'channels:read');
  const historyScope = (channel: FakeChannel) => (channel.isPrivate ? 'groups:history' : 'channels:history');

  /** A channel the caller can see: private channels are invisible to non-members. */
  const visible = (caller: Identity, id: string | undefined): FakeChannel => {
    const channel = state.channels.find((candidate) => candidate.id === id);
    if (!channel || (channel.isPrivate && !channel.members.has(caller.userId))) throw new Refusal('channel_not_found');
    return channel;
  };
  const member = (caller: Identity, channel: FakeChannel) => {
    if (!channel.members.has(caller.userId)) throw new Refusal('not_in_channel');
  };
  const notArchived = (channel: FakeChannel) => {
    if (channel.isArchived) throw new Refusal('is_archived');
  };
  const messagesOf = (channel: FakeChannel) => {
    const list = state.messages.get(channel.id) ?? [];
    state.messages.set(channel.id, list);
    return list;
  };
  const systemMessage = (channel: FakeChannel, message: Omit<FakeMessage, 'type' | 'ts'>) =>
    messagesOf(channel).push({ type: 'message', ts: nextTs(), ...message });

  const channelObject = (channel: FakeChannel, caller: Identity, extra: Record<string, unknown> = {}) => ({
    id: channel.id,
    name: channel.name,
    is_channel: true,
    is_group: false,
    is_im: false,
    is_mpim: false,
    is_private: channel.isPrivate,
    created: channel.created,
    creator: channel.creator,
    is_archived: channel.isArchived,
    is_general: channel.isGeneral,
    unlinked: 0,
    name_normalized: channel.name,
    is_shared: false,
    is_ext_shared: false,
    is_org_shared: false,
    pending_shared: [],
    is_pending_ext_shared: false,
    is_member: channel.members.has(caller.userId),
    last_read: '0000000000.000000',
    topic: { ...channel.topic },
    purpose: { ...channel.purpose },
    previous_names: [],
    priority: 0,
    ...extra,
  });

  const messageObject = (message: FakeMessage, channel: FakeChannel, withMetadata: boolean) => {
    const { metadata, ...rest } = message;
    return {
      ...rest,
      ...(withMetadata && metadata ? { metadata } : {}),
      ...(channel.pins.has(message.ts) ? { pinned_to: [channel.id] } : {}),
    };
  };

  const userObject = (user: FakeUser) => ({
    id: user.id,
    team_id: TEAM_ID,
    name: user.name,
    deleted: false,
    real_name: user.realName,
    tz: 'Europe/Berlin',
    tz_label: 'Central European Time',
    tz_offset: 3600,
    profile: {
      real_name: user.realName,
      real_name_normalized: user.realName,
      display_name: user.name,
      display_name_normalized: user.name,
      email: user.email,
      avatar_hash: 'g0000000000a',
      title: '',
      phone: '',
      skype: '',
      status_text: '',
      status_emoji: '',
      fields: null,
      team: TEAM_ID,
    },
    is_admin: false,
    is_owner: false,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    is_bot: Boolean(user.isBot),
    is_app_user: false,
    updated: 1770000000,
  });

  /** conversations.list and users.conversations: filtered, cursor-paged channel lists. */
  const listChannels = (caller: Identity, args: Record<string, string>, onlyMemberOf?: string) => {
    const types = new Set((args.types || 'public_channel').split(',').map((type) => type.trim()));
    for (const type of types) {
      if (!['public_channel', 'private_channel', 'mpim', 'im'].includes(type)) throw new Refusal('invalid_types');
    }
    if (types.has('public_channel')) need(caller, 'channels:read');
    if (types.has('private_channel')) need(caller, 'groups:read');
    const limit = Math.min(1000, Math.max(1, Number(args.limit ?? 100) || 100));
    let offset = 0;
    if (args.cursor) {
      const decoded = /^offset:(\d+)$/.exec(Buffer.from(args.cursor, 'base64').toString('utf8'));
      if (!decoded) throw new Refusal('invalid_cursor');
      offset = Number(decoded[1]);
    }
    const excludeArchived = isTrue(args.exclude_archived);
    const matching = state.channels.filter(
      (channel) =>
        types.has(channel.isPrivate ? 'private_channel' : 'public_channel') &&
        !(excludeArchived && channel.isArchived) &&
        (!channel.isPrivate || channel.members.has(caller.userId)) &&
        (!onlyMemberOf || channel.members.has(onlyMemberOf)),
    );
    const page = matching.slice(offset, offset + limit);
    const more = offset + limit < matching.length;
    return {
      page,
      response_metadata: { next_cursor: more ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '' },
    };
  };

  const handlers: Record<string, Handler> = {
    'auth.test': (caller) => ({
      ok: true,
      url: 'https://warroom-fake.slack.com/',
      team: 'Warroom Fake',
      user: state.users.find((user) => user.id === caller.userId)?.name ?? 'user',
      team_id: TEAM_ID,
      user_id: caller.userId,
      ...(caller.botId ? { bot_id: caller.botId } : {}),
      is_enterprise_install: false,
    }),

    'conversations.create': (caller, args) => {
      const isPrivate = isTrue(args.is_private);
      need(caller, isPrivate ? 'groups:write' : 'channels:manage');
      const name = args.name ?? '';
      if (name === '') throw new Refusal('invalid_name_required');
      if (/[^a-z0-9_-]/.test(name)) throw new Refusal('invalid_name_specials');
      if (!/[a-z0-9]/.test(name)) throw new Refusal('invalid_name_punctuation');
      if (name.length > MAX_CHANNEL_NAME) throw new Refusal('invalid_name_maxlength');
      // Archived channels keep their names reserved.
      if (state.channels.some((channel) => channel.name === name)) throw new Refusal('name_taken');
      const channel = addChannel({ name, creator: caller.userId, isPrivate });
      systemMessage(channel, { subtype: 'channel_join', user: caller.userId, text: `<@${caller.userId}> has joined the channel` });
      return { ok: true, channel: channelObject(channel, caller) };
    },

    'conversations.info': (caller, args) => {
      const channel = visible(caller, args.channel);
      need(caller, readScope(channel));
      const extra = isTrue(args.include_num_members) ? { num_members: channel.members.size } : {};
      return { ok: true, channel: channelObject(channel, caller, extra) };
    },

    'conversations.list': (caller, args) => {
      const { page, response_metadata } = listChannels(caller, args);
      return {
        ok: true,
        channels: page.map((channel) => channelObject(channel, caller, { num_members: channel.members.size })),
        response_metadata,
      };
    },

    'users.conversations': (caller, args) => {
      const user = args.user ?? caller.userId;
      const { page, response_metadata } = listChannels(caller, args, user);
      return {
        ok: true,
        channels: page.map((channel) => {
          const { is_member: _member, ...object } = channelObject(channel, caller);
          return object;
        }),
        response_metadata,
      };
    },

    'conversations.setTopic': (caller, args) => {
      const channel = visible(caller, args.channel);
      need(caller, manageScope(channel));
      notArchived(channel);
      member(caller, channel);
      const topic = args.topic ?? '';
      if ([...topic].length > MAX_TOPIC) throw new Refusal('too_long');
      channel.topic = { value: topic, creator: caller.userId, last_set: nowSeconds() };
      systemMessage(channel, { subtype: 'channel_topic', user: caller.userId, topic, text: `set the channel topic: ${topic}` });
      return { ok: true, channel: channelObject(channel, caller) };
    },

    'conversations.invite': (caller, args) => {
      const channel = visible(caller, args.channel);
      need(caller, manageScope(channel));
      notArchived(channel);
      member(caller, channel);
      const ids = [
        ...new Set(
          (args.users ?? '')
            .split(',')
            .map((id) => id.trim())
            .filter(Boolean),
        ),
      ];
      if (ids.length === 0) throw new Refusal('no_user');
      if (ids.length > 1000) throw new Refusal('too_many_users');
      const errors: Array<{ user: string; ok: false; error: string }> = [];
      const valid: string[] = [];
      for (const id of ids) {
        const user = state.users.find((candidate) => candidate.id === id);
        const error = !user
          ? 'user_not_found'
          : id === caller.userId
            ? 'cant_invite_self'
            : channel.members.has(id)
              ? 'already_in_channel'
              : undefined;
        if (error) errors.push({ user: id, ok: false, error });
        else valid.push(id);
      }
      // Partially failed calls invite nobody unless `force` is set (docs: conversations.invite).
      const first = errors[0];
      if (first && (!isTrue(args.force) || valid.length === 0)) throw new Refusal(first.error, { errors });
      for (const id of valid) {
        channel.members.add(id);
        systemMessage(channel, { subtype: 'channel_join', user: id, inviter: caller.userId, text: `<@${id}> has joined the channel` });
      }
      return { ok: true, channel: channelObject(channel, caller), ...(errors.length > 0 ? { errors } : {}) };
    },

    'conversations.archive': (caller, args) => {
      const channel = visible(caller, args.channel);
      need(caller, manageScope(channel));
      if (channel.isArchived) throw new Refusal('already_archived');
      if (channel.isGeneral) throw new Refusal('cant_archive_general');
      member(caller, channel);
      channel.isArchived = true;
      systemMessage(channel, { subtype: 'channel_archive', user: caller.userId, text: 'archived the channel' });
      return { ok: true };
    },

    'conversations.history': (caller, args) => {
      const channel = visible(caller, args.channel);
      need(caller, historyScope(channel));
      // Bots read only conversations they are in (channels:history: "channels your app has been added to").
      member(caller, channel);
      const oldest = args.oldest === undefined ? undefined : tsKey(args.oldest);
      const latest = args.latest === undefined ? undefined : tsKey(args.latest);
      if (oldest === null) throw new Refusal('invalid_ts_oldest');
      if (latest === null) throw new Refusal('invalid_ts_latest');
      const inclusive = isTrue(args.inclusive);
      const limit = Math.min(999, Math.max(1, Number(args.limit ?? 100) || 100));
      let offset = 0;
      if (args.cursor) {
        const decoded = /^offset:(\d+)$/.exec(Buffer.from(args.cursor, 'base64').toString('utf8'));
        if (!decoded) throw new Refusal('invalid_cursor');
        offset = Number(decoded[1]);
      }
      const inRange = [...messagesOf(channel)].reverse().filter((message) => {
        const key = tsKey(message.ts) as string;
        if (oldest && (inclusive ? key < oldest : key <= oldest)) return false;
        if (latest && (inclusive ? key > latest : key >= latest)) return false;
        return true;
      });
      const page = inRange.slice(offset, offset + limit);
      const more = offset + limit < inRange.length;
      const withMetadata = isTrue(args.include_all_metadata);
      return {
        ok: true,
        messages: page.map((message) => messageObject(message, channel, withMetadata)),
        has_more: more,
        pin_count: channel.pins.size,
        channel_actions_ts: null,
        channel_actions_count: 0,
        ...(more ? { response_metadata: { next_cursor: Buffer.from(`offset:${offset + limit}`).toString('base64') } } : {}),
      };
    },

    'users.lookupByEmail': (caller, args) => {
      need(caller, 'users:read.email');
      const email = (args.email ?? '').trim().toLowerCase();
      const user = state.users.find((candidate) => candidate.email === email);
      if (!user) throw new Refusal('users_not_found');
      return { ok: true, user: userObject(user) };
    },

    'chat.postMessage': (caller, args) => {
      need(caller, 'chat:write');
      const target = args.channel ?? '';
      const byName = target.replace(/^#/, '');
      const channel =
        state.channels.find((candidate) => candidate.id === target) ??
        state.channels.find((candidate) => candidate.name === byName && !candidate.isArchived);
      if (!channel || (channel.isPrivate && !channel.members.has(caller.userId))) throw new Refusal('channel_not_found');
      notArchived(channel);
      if (!channel.members.has(caller.userId) && !(caller.scopes.has('chat:write.public') && !channel.isPrivate)) {
        throw new Refusal('not_in_channel');
      }
      const blocks = args.blocks === undefined ? undefined : parseBlocks(args.blocks);
      const text = args.text ?? '';
      if (text === '' && !blocks?.length && !args.attachments) throw new Refusal('no_text');
      if (text.length > MAX_TEXT) throw new Refusal('msg_too_long');
      const metadata = args.metadata === undefined ? undefined : parseMetadata(args.metadata);
      const customize = caller.scopes.has('chat:write.customize');
      const icons =
        customize && args.icon_emoji ? { emoji: args.icon_emoji } : customize && args.icon_url ? { image_64: args.icon_url } : undefined;
      const message: FakeMessage = {
        type: 'message',
        ts: nextTs(),
        text,
        user: caller.userId,
        ...(caller.botId ? { bot_id: caller.botId, app_id: BOT.appId } : {}),
        team: TEAM_ID,
        ...(blocks ? { blocks } : {}),
        ...(metadata ? { metadata } : {}),
        ...(customize && args.username ? { subtype: 'bot_message', username: args.username } : {}),
        ...(icons ? { icons } : {}),
        ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}),
      };
      messagesOf(channel).push(message);
      return { ok: true, channel: channel.id, ts: message.ts, message: messageObject(message, channel, true) };
    },

    'chat.update': (caller, args) => {
      need(caller, 'chat:write');
      const channel = visible(caller, args.channel);
      const message = messagesOf(channel).find((candidate) => candidate.ts === args.ts);
      if (!message) throw new Refusal('message_not_found');
      if (message.user !== caller.userId || message.subtype === 'channel_join') throw new Refusal('cant_update_message');
      notArchived(channel);
      const blocks = args.blocks === undefined ? undefined : parseBlocks(args.blocks);
      if (args.text === undefined && blocks === undefined && args.attachments === undefined) throw new Refusal('no_text');
      if ((args.text ?? '').length > MAX_TEXT) throw new Refusal('msg_too_long');
      if (args.text !== undefined) message.text = args.text;
      if (blocks !== undefined) message.blocks = blocks;
      if (args.metadata !== undefined) message.metadata = parseMetadata(args.metadata);
      message.edited = { user: caller.userId, ts: nextTs() };
      const { metadata: _metadata, ...shown } = messageObject(message, channel, false);
      return { ok: true, channel: channel.id, ts: message.ts, text: message.text, message: shown };
    },

    'pins.add': (caller, args) => {
      need(caller, 'pins:write');
      const channel = visible(caller, args.channel);
      if (args.timestamp === undefined) throw new Refusal('no_item_specified');
      if (!/^\d{10}\.\d{6}$/.test(args.timestamp)) throw new Refusal('bad_timestamp');
      notArchived(channel);
      member(caller, channel);
      if (!messagesOf(channel).some((message) => message.ts === args.timestamp)) throw new Refusal('message_not_found');
      if (channel.pins.has(args.timestamp)) throw new Refusal('already_pinned');
      channel.pins.add(args.timestamp);
      return { ok: true };
    },
  };
  return handlers;
}

const BLOCK_TYPES = new Set([
  'section',
  'actions',
  'context',
  'divider',
  'header',
  'image',
  'rich_text',
  'input',
  'markdown',
  'file',
  'video',
]);

/** Block Kit checks Slack makes before posting (limits from the Block Kit reference); refuses with `invalid_blocks`. */
function parseBlocks(raw: string): unknown[] {
  const problems: string[] = [];
  let blocks: unknown;
  try {
    blocks = JSON.parse(raw);
  } catch {
    throw new Refusal('invalid_blocks_format');
  }
  if (!Array.isArray(blocks)) throw new Refusal('invalid_blocks_format');
  if (blocks.length > 50) problems.push('[ERROR] no more than 50 items allowed [json-pointer:/blocks]');
  const text = (value: unknown, pointer: string, max: number, plainOnly = false) => {
    const object = value as { type?: unknown; text?: unknown } | undefined;
    if (!object || typeof object !== 'object') return problems.push(`[ERROR] must provide an object [json-pointer:${pointer}]`);
    if (object.type !== 'plain_text' && (plainOnly || object.type !== 'mrkdwn')) {
      return problems.push(`[ERROR] must be a valid enum value [json-pointer:${pointer}/type]`);
    }
    if (typeof object.text !== 'string' || object.text.length === 0) {
      return problems.push(`[ERROR] must be more than 0 characters [json-pointer:${pointer}/text]`);
    }
    if (object.text.length > max) problems.push(`[ERROR] must be less than ${max + 1} characters [json-pointer:${pointer}/text]`);
    return undefined;
  };
  const blockIds = new Set<string>();
  const actionIds = new Set<string>();
  blocks.forEach((block: Record<string, any>, index) => {
    const at = `/blocks/${index}`;
    if (!block || typeof block !== 'object' || !BLOCK_TYPES.has(block.type)) {
      problems.push(`[ERROR] unsupported type [json-pointer:${at}/type]`);
      return;
    }
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length > 255 || blockIds.has(block.block_id)) {
        problems.push(`[ERROR] invalid or repeated block_id [json-pointer:${at}/block_id]`);
      }
      blockIds.add(block.block_id);
    }
    switch (block.type) {
      case 'header':
        text(block.text, `${at}/text`, 150, true);
        break;
      case 'section':
        if (block.text === undefined && block.fields === undefined) {
          problems.push(`[ERROR] must provide text or fields [json-pointer:${at}]`);
        }
        if (block.text !== undefined) text(block.text, `${at}/text`, 3000);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length > 10) {
            problems.push(`[ERROR] no more than 10 fields [json-pointer:${at}/fields]`);
          } else {
            block.fields.forEach((field: unknown, i: number) => text(field, `${at}/fields/${i}`, 2000));
          }
        }
        break;
      case 'context':
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10) {
          problems.push(`[ERROR] must provide 1 to 10 elements [json-pointer:${at}/elements]`);
        } else {
          block.elements.forEach((element: { type?: string }, i: number) => {
            if (element?.type !== 'image') text(element, `${at}/elements/${i}`, 3000);
          });
        }
        break;
      case 'actions':
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25) {
          problems.push(`[ERROR] must provide 1 to 25 elements [json-pointer:${at}/elements]`);
          break;
        }
        block.elements.forEach((element: Record<string, any>, i: number) => {
          const where = `${at}/elements/${i}`;
          if (element?.type !== 'button') return;
          text(element.text, `${where}/text`, 75, true);
          if (typeof element.action_id === 'string') {
            if (element.action_id.length > 255 || actionIds.has(element.action_id)) {
              problems.push(`[ERROR] invalid or repeated action_id [json-pointer:${where}/action_id]`);
            }
            actionIds.add(element.action_id);
          }
          if (element.value !== undefined && (typeof element.value !== 'string' || element.value.length > 2000)) {
            problems.push(`[ERROR] must be less than 2001 characters [json-pointer:${where}/value]`);
          }
          if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
            problems.push(`[ERROR] must be a valid enum value [json-pointer:${where}/style]`);
          }
        });
        break;
      default:
        break;
    }
  });
  if (problems.length > 0) throw new Refusal('invalid_blocks', { response_metadata: { messages: problems } });
  return blocks;
}

/** Message metadata: a JSON object with `event_type` and an `event_payload` object. */
function parseMetadata(raw: string): { event_type: string; event_payload: Record<string, unknown> } {
  let metadata: unknown;
  try {
    metadata = JSON.parse(raw);
  } catch {
    throw new Refusal('invalid_metadata_format');
  }
  const candidate = metadata as { event_type?: unknown; event_payload?: unknown };
  if (
    !candidate ||
    typeof candidate !== 'object' ||
    typeof candidate.event_type !== 'string' ||
    !/^[A-Za-z0-9_]+$/.test(candidate.event_type) ||
    !candidate.event_payload ||
    typeof candidate.event_payload !== 'object' ||
    Array.isArray(candidate.event_payload)
  ) {
    throw new Refusal('invalid_metadata_schema');
  }
  return { event_type: candidate.event_type, event_payload: candidate.event_payload as Record<string, unknown> };
}

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

/** A Slack timestamp as a fixed-width string that sorts like the number (floats lose the microseconds). */
function tsKey(value: string): string | null {
  const match = /^(\d{1,10})(?:\.(\d{1,6})\d*)?$/.exec(value.trim());
  if (!match) return null;
  return `${(match[1] as string).padStart(10, '0')}.${(match[2] ?? '').padEnd(6, '0')}`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
