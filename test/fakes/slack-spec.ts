import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AjvModule, { type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';

// ajv and ajv-formats are CommonJS; under NodeNext their default export is the module object.
const Ajv = AjvModule.default;
const addFormats = formatsModule.default;

/** Where the shared Slack Web API description lives: `<repoRoot>/../shared/specs/`. */
export const SLACK_SPEC_PATH = fileURLToPath(new URL('../../../shared/specs/slack-web-api.openapi-v2.json', import.meta.url));

export type ParamType = 'string' | 'boolean' | 'integer' | 'number';

export interface ParamShape {
  type: ParamType;
  required: boolean;
}

/** What a request to one Web API method may carry, from the spec (or the built-in table). */
export interface MethodShape {
  /** HTTP methods the method answers: every method takes POST; read methods also take GET. */
  httpMethods: ReadonlySet<string>;
  /** Whether a JSON body is read (methods documented as form-only ignore JSON bodies). */
  acceptsJson: boolean;
  params: ReadonlyMap<string, ParamShape>;
}

/** A refusal in Slack's words: the `error` code plus `response_metadata.messages`. */
export interface ArgumentRefusal {
  error: 'invalid_arguments' | 'invalid_arg_name';
  messages: string[];
}

export interface SlackSpec {
  /** `spec` when requests are checked against the shared file, `built-in` when it was absent. */
  source: 'spec' | 'built-in';
  method(name: string): MethodShape | undefined;
  /** Checks a request's arguments; undefined when they would be accepted. */
  checkArguments(name: string, args: Readonly<Record<string, string>>): ArgumentRefusal | undefined;
  /** Problems with a body the fake is about to answer (empty when it matches the documented schema). */
  checkResponse(name: string, body: unknown): string[];
}

/**
 * Arguments Slack documents today that the 2020 spec predates (docs.slack.dev method pages).
 * Without them the fake would refuse calls the real API accepts.
 */
const NEWER_ARGS: Record<string, Record<string, ParamType>> = {
  'chat.postMessage': { metadata: 'string', team_id: 'string' },
  'chat.update': { metadata: 'string', reply_broadcast: 'boolean', team_id: 'string' },
  'conversations.history': { include_all_metadata: 'boolean', team_id: 'string' },
  'conversations.create': { team_id: 'string' },
  'conversations.invite': { force: 'boolean', team_id: 'string' },
  'conversations.list': { team_id: 'string' },
  'users.conversations': { team_id: 'string' },
};

/**
 * Arguments the spec marks optional that the method cannot work without; Slack answers their
 * absence with `invalid_arguments` (an absent argument; an empty one is the method's own error).
 * conversations.create's `name` and pins.add's `timestamp` have documented errors of their own.
 */
const FUNCTIONALLY_REQUIRED: Record<string, string[]> = {
  'conversations.info': ['channel'],
  'conversations.history': ['channel'],
  'conversations.setTopic': ['channel', 'topic'],
  'conversations.invite': ['channel', 'users'],
  'conversations.archive': ['channel'],
  'pins.add': ['channel'],
  'chat.postMessage': ['channel'],
  'chat.update': ['channel', 'ts'],
  'users.lookupByEmail': ['email'],
};

/** The methods the fake implements, as the 2020 spec describes them; used when the spec file is absent. */
const BUILT_IN: Record<string, { get: boolean; json: boolean; params: Record<string, ParamType> }> = {
  'auth.test': { get: true, json: true, params: {} },
  'conversations.create': { get: false, json: true, params: { name: 'string', is_private: 'boolean' } },
  'conversations.info': {
    get: true,
    json: false,
    params: { channel: 'string', include_locale: 'boolean', include_num_members: 'boolean' },
  },
  'conversations.list': {
    get: true,
    json: false,
    params: { exclude_archived: 'boolean', types: 'string', limit: 'integer', cursor: 'string' },
  },
  'users.conversations': {
    get: true,
    json: false,
    params: { user: 'string', types: 'string', exclude_archived: 'boolean', limit: 'integer', cursor: 'string' },
  },
  'conversations.setTopic': { get: false, json: true, params: { channel: 'string', topic: 'string' } },
  'conversations.invite': { get: false, json: true, params: { channel: 'string', users: 'string' } },
  'conversations.archive': { get: false, json: true, params: { channel: 'string' } },
  'conversations.history': {
    get: true,
    json: false,
    params: {
      channel: 'string',
      latest: 'number',
      oldest: 'number',
      inclusive: 'boolean',
      limit: 'integer',
      cursor: 'string',
    },
  },
  'users.lookupByEmail': { get: true, json: false, params: { email: 'string' } },
  'chat.postMessage': {
    get: false,
    json: true,
    params: {
      as_user: 'string',
      attachments: 'string',
      blocks: 'string',
      channel: 'string',
      icon_emoji: 'string',
      icon_url: 'string',
      link_names: 'boolean',
      mrkdwn: 'boolean',
      parse: 'string',
      reply_broadcast: 'boolean',
      text: 'string',
      thread_ts: 'string',
      unfurl_links: 'boolean',
      unfurl_media: 'boolean',
      username: 'string',
    },
  },
  'chat.update': {
    get: false,
    json: true,
    params: {
      as_user: 'string',
      attachments: 'string',
      blocks: 'string',
      channel: 'string',
      link_names: 'string',
      parse: 'string',
      text: 'string',
      ts: 'string',
    },
  },
  'pins.add': { get: false, json: true, params: { channel: 'string', timestamp: 'string' } },
};

const BUILT_IN_REQUIRED: Record<string, string[]> = {
  'chat.postMessage': ['channel'],
  'chat.update': ['channel', 'ts'],
  'pins.add': ['channel'],
  'users.lookupByEmail': ['email'],
};

const TYPE_PATTERNS: Record<ParamType, RegExp> = {
  string: /^/,
  boolean: /^(true|false|1|0)$/i,
  integer: /^-?\d+$/,
  number: /^-?\d+(\.\d+)?$/,
};

/** Argument names Slack rejects outright ("very long names and names with non-alphanumeric characters other than _"). */
const WELL_FORMED_ARG = /^[a-z0-9_]{1,64}$/i;

interface SwaggerParameter {
  name: string;
  in: string;
  type?: string;
  required?: boolean;
}

interface SwaggerOperation {
  consumes?: string[];
  parameters?: SwaggerParameter[];
  responses?: Record<string, { schema?: unknown }>;
}

type SwaggerPath = Partial<Record<'get' | 'post', SwaggerOperation>>;

interface SwaggerDocument {
  paths: Record<string, SwaggerPath>;
  definitions: Record<string, unknown>;
}

let noticePrinted = false;

/** Loads the shared spec; without it, prints one notice and falls back to the built-in table. */
export function loadSlackSpec(path: string = SLACK_SPEC_PATH): SlackSpec {
  if (!existsSync(path)) {
    if (!noticePrinted) {
      noticePrinted = true;
      process.stderr.write(
        `[slack fake] ${path} not found: requests are NOT checked against the Slack Web API spec,` +
          " only against the fake's built-in table\n",
      );
    }
    return builtInSpec();
  }
  return specFromDocument(JSON.parse(readFileSync(path, 'utf8')) as SwaggerDocument);
}

function builtInSpec(): SlackSpec {
  const shapes = new Map<string, MethodShape>();
  for (const [name, entry] of Object.entries(BUILT_IN)) {
    const required = new Set([...(BUILT_IN_REQUIRED[name] ?? []), ...(FUNCTIONALLY_REQUIRED[name] ?? [])]);
    const params = new Map<string, ParamShape>();
    for (const [param, type] of Object.entries({ ...entry.params, ...NEWER_ARGS[name] })) {
      params.set(param, { type, required: required.has(param) });
    }
    shapes.set(name, { httpMethods: new Set(entry.get ? ['GET', 'POST'] : ['POST']), acceptsJson: entry.json, params });
  }
  return makeSpec('built-in', shapes, () => []);
}

function specFromDocument(document: SwaggerDocument): SlackSpec {
  const shapes = new Map<string, MethodShape>();
  const responseSchemas: Record<string, unknown> = {};
  for (const [path, operations] of Object.entries(document.paths)) {
    const name = path.replace(/^\//, '');
    const operation = operations.get ?? operations.post;
    if (!operation) continue;
    const required = new Set(FUNCTIONALLY_REQUIRED[name] ?? []);
    const params = new Map<string, ParamShape>();
    for (const parameter of operation.parameters ?? []) {
      if (parameter.name === 'token') continue;
      params.set(parameter.name, {
        type: (parameter.type as ParamType | undefined) ?? 'string',
        required: Boolean(parameter.required) || required.has(parameter.name),
      });
    }
    for (const [param, type] of Object.entries(NEWER_ARGS[name] ?? {})) {
      if (!params.has(param)) params.set(param, { type, required: false });
    }
    shapes.set(name, {
      httpMethods: new Set(operations.get ? ['GET', 'POST'] : ['POST']),
      acceptsJson: (operation.consumes ?? []).includes('application/json'),
      params,
    });
    const success = operation.responses?.['200']?.schema;
    if (success) responseSchemas[name] = success;
  }

  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const root = relax({ $id: 'https://warroom.invalid/slack-web-api', definitions: document.definitions, responses: responseSchemas });
  applyErrata(root as { responses: Record<string, any> });
  ajv.addSchema(root as object);
  const validators = new Map<string, ValidateFunction | undefined>();
  const validator = (name: string) => {
    if (!validators.has(name)) {
      validators.set(name, responseSchemas[name] ? ajv.getSchema(`https://warroom.invalid/slack-web-api#/responses/${name}`) : undefined);
    }
    return validators.get(name);
  };

  return makeSpec('spec', shapes, (name, body) => {
    const envelope = body as { ok?: unknown; error?: unknown };
    if (envelope?.ok === false) return typeof envelope.error === 'string' ? [] : ['error response without an error code'];
    const validate = validator(name);
    if (!validate || validate(body)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
  });
}

function makeSpec(source: SlackSpec['source'], shapes: Map<string, MethodShape>, checkResponse: SlackSpec['checkResponse']): SlackSpec {
  return {
    source,
    method: (name) => shapes.get(name),
    checkResponse,
    checkArguments(name, args) {
      const shape = shapes.get(name);
      if (!shape) return undefined;
      for (const arg of Object.keys(args)) {
        if (arg === 'token') continue;
        if (!WELL_FORMED_ARG.test(arg) || !shape.params.has(arg)) {
          return { error: 'invalid_arg_name', messages: [`[ERROR] unknown argument: ${arg.slice(0, 64)}`] };
        }
      }
      const messages: string[] = [];
      for (const [param, { type, required }] of shape.params) {
        const value = args[param];
        if (value === undefined) {
          if (required) messages.push(`[ERROR] missing required field: ${param}`);
        } else if (!TYPE_PATTERNS[type].test(value)) {
          messages.push(`[ERROR] invalid ${type} for field: ${param}`);
        }
      }
      return messages.length > 0 ? { error: 'invalid_arguments', messages } : undefined;
    },
  };
}

/**
 * The spec's schemas, read the way its README says to: unknown response fields are allowed
 * (`additionalProperties: false` dropped), and Slack's `items: [a, b]` on non-array values
 * (its way of writing "one of") becomes `anyOf`.
 */
function relax(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(relax);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'additionalProperties' && value === false) continue;
    out[key] = relax(value);
  }
  if (Array.isArray(out.items) && out.type !== 'array') {
    out.anyOf = out.items;
    delete out.items;
  }
  return out;
}

/** Known mistakes in the 2020 spec, corrected so that real Slack answers validate. */
function applyErrata(root: { responses: Record<string, any> }): void {
  // chat.update's message.blocks is documented as an object; Slack answers with the blocks array.
  const updateBlocks = root.responses['chat.update']?.properties?.message?.properties?.blocks;
  if (updateBlocks) updateBlocks.type = 'array';
  // conversations.history says at least one message; a quiet range answers `messages: []`.
  const history = root.responses['conversations.history']?.properties?.messages;
  if (history) delete history.minItems;
}
