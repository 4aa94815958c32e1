import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';

/**
 * Checks requests a fake receives against a vendor's OpenAPI 3 description, so a fake refuses
 * what the real service would refuse: unknown path (404), method (405), missing or malformed
 * parameter or body (400). Vendor-neutral: Jira, PagerDuty REST and Events v2 all use it.
 *
 *   const spec = loadSpec('jira-cloud-platform-v3.openapi.json');
 *   const result = spec.check({ method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body });
 *   if (!result.ok) answer(result.status, result.reason);
 */

type Json = Record<string, any>;

/** The parts of an OpenAPI 3 document the checker reads. */
export interface OpenApiDocument {
  openapi?: string;
  servers?: Array<{ url: string; variables?: Record<string, { default: string }> }>;
  paths: Record<string, Json>;
  components?: Json;
}

/** One request as the fake received it; `body` is the parsed JSON (undefined when there was none). */
export interface RequestToCheck {
  method: string;
  /** The URL path only, without the query string (e.g. `/rest/api/3/issue/RLY-1`). */
  path: string;
  query?: URLSearchParams | Record<string, string | string[] | undefined>;
  /** Node's `req.headers` works as is; names are matched case-insensitively. */
  headers?: Record<string, string | string[] | undefined>;
  body?: unknown;
}

export type CheckResult =
  | { ok: true; operationId: string; pathTemplate: string; pathParams: Record<string, string> }
  | { ok: false; status: 400 | 404 | 405; reason: string };

export type ResponseCheckResult = { ok: true } | { ok: false; reason: string };

export interface SpecChecker {
  /** False when the spec file was absent and every request is accepted unchecked. */
  readonly checked: boolean;
  /** Checks path, method, required path/query/header parameters and the JSON body. */
  check(request: RequestToCheck): CheckResult;
  /** Checks a body the fake is about to send against the documented response schema for that status. */
  checkResponse(operationId: string, status: number, body: unknown): ResponseCheckResult;
}

export interface CheckerOptions {
  /** Base paths requests carry before the spec's path templates; default: the path part of each `servers` URL. */
  basePaths?: string[];
  /** Name used in the Ajv `$id` of the document (any unique word). */
  name?: string;
}

const SPECS_DIR = fileURLToPath(new URL('../../../shared/specs/', import.meta.url));

/** Whether the vendors' specs sit beside the checkout (always in CI): tests of spec refusals need them. */
export const SPECS_PRESENT = existsSync(SPECS_DIR);

/** What a fake records for a request that passed: `ok` when checked against the spec, `unchecked` without it. */
export const SPEC_VERDICT = SPECS_PRESENT ? 'ok' : 'unchecked';
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
/** OpenAPI 3.0: header parameters with these names "SHALL be ignored" (they are described elsewhere). */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

const loaded = new Map<string, SpecChecker>();

/**
 * The checker for `../shared/specs/<fileName>` (next to the repo). When the file is absent it
 * says so once on stderr and accepts everything: local runs without ../shared still work,
 * CI always has the specs. Parsed once per process and shared.
 */
export function loadSpec(fileName: string): SpecChecker {
  const known = loaded.get(fileName);
  if (known) return known;
  const file = `${SPECS_DIR}${fileName}`;
  let checker: SpecChecker;
  if (existsSync(file)) {
    checker = createChecker(JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument, { name: fileName });
  } else {
    process.stderr.write(`[fakes] ../shared/specs/${fileName} not found: requests are NOT checked against the vendor spec\n`);
    checker = uncheckedSpec;
  }
  loaded.set(fileName, checker);
  return checker;
}

/** Accepts every request: used only when the spec file is missing. */
const uncheckedSpec: SpecChecker = {
  checked: false,
  check: () => ({ ok: true, operationId: 'unchecked', pathTemplate: '', pathParams: {} }),
  checkResponse: () => ({ ok: true }),
};

interface Route {
  template: string;
  pattern: RegExp;
  names: string[];
  literalSegments: number;
  item: Json;
}

interface Operation {
  operationId: string;
  template: string;
  method: string;
  op: Json;
  item: Json;
  parameters?: ValidateFunction;
  required: Array<{ in: 'path' | 'query' | 'header'; name: string }>;
  headerNames: string[];
  queryNames: string[];
  body?: { required: boolean; media: Map<string, ValidateFunction | undefined> };
}

let documentCount = 0;

/** A checker for an OpenAPI 3 document; operations are compiled on first use and cached. */
export function createChecker(document: OpenApiDocument, options: CheckerOptions = {}): SpecChecker {
  const docId = `https://specs.warroom.invalid/${encodeURIComponent(options.name ?? 'spec')}-${++documentCount}.json`;
  const basePaths = (options.basePaths ?? serverBasePaths(document)).map((base) => base.replace(/\/+$/, ''));
  const routes = compileRoutes(document.paths);
  const operations = new Map<string, Operation>();
  const operationsById = new Map<string, Operation>();

  // Two validators: bodies are checked as sent (no coercion); parameters arrive as strings and are coerced.
  let requestAjv: Ajv | undefined;
  let paramAjv: Ajv | undefined;
  let responseAjv: Ajv | undefined;
  const ajvFor = (kind: 'request' | 'param' | 'response'): Ajv => {
    if (kind === 'request') return (requestAjv ??= newAjv(docId, forDirection(document, 'request'), false));
    if (kind === 'param') return (paramAjv ??= newAjv(docId, forDirection(document, 'request'), true));
    return (responseAjv ??= newAjv(docId, forDirection(document, 'response'), false));
  };

  const resolve = (value: Json | undefined): Json | undefined => resolveRef(document, value);

  const operationFor = (route: Route, method: string): Operation => {
    const cacheKey = `${method} ${route.template}`;
    const cached = operations.get(cacheKey);
    if (cached) return cached;
    const op = route.item[method] as Json;
    const operation: Operation = {
      operationId: (op.operationId as string | undefined) ?? cacheKey,
      template: route.template,
      method,
      op,
      item: route.item,
      required: [],
      headerNames: [],
      queryNames: [],
    };
    compileParameters(operation);
    compileBody(operation);
    operations.set(cacheKey, operation);
    return operation;
  };

  const compileParameters = (operation: Operation) => {
    const byKey = new Map<string, Json>();
    for (const raw of [...((operation.item.parameters as Json[]) ?? []), ...((operation.op.parameters as Json[]) ?? [])]) {
      const parameter = resolve(raw);
      if (!parameter || !['path', 'query', 'header'].includes(parameter.in)) continue;
      if (parameter.in === 'header' && IGNORED_HEADERS.has(String(parameter.name).toLowerCase())) continue;
      byKey.set(`${parameter.in}:${parameter.name}`, parameter);
    }
    const groups: Record<'path' | 'query' | 'header', { properties: Json; required: string[] }> = {
      path: { properties: {}, required: [] },
      query: { properties: {}, required: [] },
      header: { properties: {}, required: [] },
    };
    for (const parameter of byKey.values()) {
      const where = parameter.in as 'path' | 'query' | 'header';
      const name = where === 'header' ? String(parameter.name).toLowerCase() : String(parameter.name);
      if (where === 'header') operation.headerNames.push(name);
      if (where === 'query') operation.queryNames.push(name);
      if (parameter.required || where === 'path') {
        groups[where].required.push(name);
        operation.required.push({ in: where, name });
      }
      if (parameter.schema) groups[where].properties[name] = rebase(parameter.schema, docId, 'request');
    }
    const schema = {
      type: 'object',
      properties: Object.fromEntries(
        Object.entries(groups).map(([where, group]) => [where, { type: 'object', properties: group.properties }]),
      ),
    };
    operation.parameters = ajvFor('param').compile(schema);
  };

  const compileBody = (operation: Operation) => {
    const requestBody = resolve(operation.op.requestBody);
    if (!requestBody?.content) return;
    const media = new Map<string, ValidateFunction | undefined>();
    for (const [type, content] of Object.entries(requestBody.content as Record<string, Json>)) {
      const schema = content?.schema as Json | undefined;
      const validates = isJsonMedia(type) && schema && Object.keys(schema).length > 0;
      media.set(type.toLowerCase(), validates ? ajvFor('request').compile(rebase(schema, docId, 'request')) : undefined);
    }
    operation.body = { required: Boolean(requestBody.required), media };
  };

  const check = (request: RequestToCheck): CheckResult => {
    const method = request.method.toLowerCase();
    const relative = stripBase(request.path, basePaths);
    if (relative === undefined) return { ok: false, status: 404, reason: `no such path: ${request.path}` };
    const matches: Array<{ route: Route; params: Record<string, string> }> = [];
    for (const route of routes.get(segmentCount(relative)) ?? []) {
      const found = route.pattern.exec(relative);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = safeDecode(found[index + 1] ?? '');
      });
      matches.push({ route, params });
    }
    if (matches.length === 0) return { ok: false, status: 404, reason: `no such path: ${request.path}` };
    // Routed like JAX-RS: the most literal templates first; a method they lack is a 405, not a fall-through.
    const best = matches.filter(({ route }) => route.literalSegments === matches[0]!.route.literalSegments);
    const match = best.find(({ route }) => route.item[method]);
    if (!match) {
      const allowed = Object.keys(matches[0]!.route.item).filter((key) => METHODS.has(key));
      return {
        ok: false,
        status: 405,
        reason: `${request.method.toUpperCase()} not allowed on ${matches[0]!.route.template} (allowed: ${allowed.join(', ').toUpperCase()})`,
      };
    }
    const operation = operationFor(match.route, method);

    const headers = lowerCaseHeaders(request.headers);
    const query = queryObject(request.query);
    const values = {
      path: match.params,
      query: Object.fromEntries(operation.queryNames.filter((name) => query[name] !== undefined).map((name) => [name, query[name]])),
      header: Object.fromEntries(operation.headerNames.filter((name) => headers[name] !== undefined).map((name) => [name, headers[name]])),
    };
    for (const need of operation.required) {
      const value = (values[need.in] as Record<string, unknown>)[need.name];
      if (value === undefined || value === '') {
        return { ok: false, status: 400, reason: `missing required ${need.in} parameter '${need.name}'` };
      }
    }
    if (operation.parameters && !operation.parameters(values)) {
      return { ok: false, status: 400, reason: `invalid parameter: ${describe(operation.parameters.errors, '')}` };
    }

    if (operation.body) {
      if (request.body === undefined) {
        if (operation.body.required) return { ok: false, status: 400, reason: 'request body is required' };
      } else {
        const contentType = String(headers['content-type'] ?? 'application/json')
          .split(';')[0]!
          .trim()
          .toLowerCase();
        const media = pickMedia(operation.body.media, contentType);
        if (!media) {
          return {
            ok: false,
            status: 400,
            reason: `unsupported content type ${contentType} (accepted: ${[...operation.body.media.keys()].join(', ')})`,
          };
        }
        const validate = operation.body.media.get(media);
        if (validate && !validate(request.body)) {
          return { ok: false, status: 400, reason: `invalid request body: ${describe(validate.errors, 'body')}` };
        }
      }
    }
    return { ok: true, operationId: operation.operationId, pathTemplate: operation.template, pathParams: match.params };
  };

  const responseValidators = new Map<string, ValidateFunction | null>();
  const checkResponse = (operationId: string, status: number, body: unknown): ResponseCheckResult => {
    const cacheKey = `${operationId} ${status}`;
    let validate = responseValidators.get(cacheKey);
    if (validate === undefined) {
      validate = null;
      const op = findOperation(operationId);
      if (!op) return { ok: false, reason: `no operation ${operationId} in the spec` };
      const responses = (op.responses ?? {}) as Json;
      const response = resolve(responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default);
      if (!response) return { ok: false, reason: `${operationId} documents no ${status} response` };
      const content = (response.content ?? {}) as Record<string, Json>;
      const jsonType = Object.keys(content).find(isJsonMedia);
      const schema = jsonType ? content[jsonType]?.schema : undefined;
      if (schema && Object.keys(schema).length > 0) validate = ajvFor('response').compile(rebase(schema, docId, 'response'));
      responseValidators.set(cacheKey, validate);
    }
    if (validate && !validate(body)) return { ok: false, reason: `${operationId} ${status}: ${describe(validate.errors, 'response')}` };
    return { ok: true };
  };

  const findOperation = (operationId: string): Json | undefined => {
    if (operationsById.size === 0) {
      for (const [template, item] of Object.entries(document.paths)) {
        for (const method of Object.keys(item).filter((key) => METHODS.has(key))) {
          const op = item[method] as Json;
          operationsById.set(op.operationId ?? `${method} ${template}`, {
            operationId: op.operationId,
            template,
            method,
            op,
            item,
            required: [],
            headerNames: [],
            queryNames: [],
          });
        }
      }
    }
    return operationsById.get(operationId)?.op;
  };

  return { checked: true, check, checkResponse };
}

function newAjv(docId: string, document: OpenApiDocument, coerce: boolean): Ajv {
  // strict: false because OpenAPI 3.0 schemas carry keywords JSON Schema does not know (example, xml, discriminator).
  const ajv = new Ajv({ strict: false, allErrors: false, coerceTypes: coerce ? 'array' : false, logger: false, validateSchema: false });
  const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as unknown as (ajv: Ajv) => Ajv;
  addFormats(ajv);
  // OpenAPI's own numeric and binary formats: annotations, not constraints.
  for (const format of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password']) ajv.addFormat(format, true);
  ajv.addSchema(document as unknown as Json, docId);
  return ajv;
}

/**
 * A copy of the document for one direction: OpenAPI 3.0 says a required `readOnly` property is
 * required in responses only, a required `writeOnly` one in requests only (Jira marks ids both).
 */
function forDirection(document: OpenApiDocument, direction: 'request' | 'response'): OpenApiDocument {
  const skip = direction === 'request' ? 'readOnly' : 'writeOnly';
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const copy: Json = {};
    for (const [key, value] of Object.entries(node)) copy[key] = walk(value);
    if (Array.isArray(copy.required) && copy.properties && typeof copy.properties === 'object') {
      copy.required = (copy.required as string[]).filter((name) => !(copy.properties as Json)[name]?.[skip]);
    }
    return copy;
  };
  return { ...document, paths: {}, components: walk(document.components ?? {}) as Json };
}

/** An inline schema from the document, with its local refs pointing into the document registered under `docId`. */
function rebase(schema: Json, docId: string, direction: 'request' | 'response'): Json {
  const skip = direction === 'request' ? 'readOnly' : 'writeOnly';
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const copy: Json = {};
    for (const [key, value] of Object.entries(node)) {
      copy[key] = key === '$ref' && typeof value === 'string' && value.startsWith('#') ? `${docId}${value}` : walk(value);
    }
    if (Array.isArray(copy.required) && copy.properties) {
      copy.required = (copy.required as string[]).filter((name) => !(copy.properties as Json)[name]?.[skip]);
    }
    return copy;
  };
  return walk(schema) as Json;
}

function resolveRef(document: OpenApiDocument, value: Json | undefined, depth = 0): Json | undefined {
  if (!value || typeof value.$ref !== 'string' || depth > 10) return value;
  const target = (value.$ref as string)
    .replace(/^#\//, '')
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Json)[part] : undefined), document);
  return resolveRef(document, target as Json | undefined, depth + 1);
}

function compileRoutes(paths: Record<string, Json>): Map<number, Route[]> {
  const bySegments = new Map<number, Route[]>();
  for (const [template, item] of Object.entries(paths)) {
    const names: string[] = [];
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const param = /^\{([^}]+)\}$/.exec(part);
        if (param) {
          names.push(param[1]!);
          return '([^/]+)';
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    const literalSegments = template.split('/').filter((segment) => segment && !segment.includes('{')).length;
    const route: Route = { template, pattern: new RegExp(`^${source}$`), names, literalSegments, item };
    const list = bySegments.get(segmentCount(template)) ?? [];
    list.push(route);
    bySegments.set(segmentCount(template), list);
  }
  // The most literal template wins: `/issue/bulk` before `/issue/{issueIdOrKey}`.
  for (const list of bySegments.values()) list.sort((a, b) => b.literalSegments - a.literalSegments);
  return bySegments;
}

function serverBasePaths(document: OpenApiDocument): string[] {
  const bases = new Set<string>();
  for (const server of document.servers ?? [{ url: '/' }]) {
    const url = server.url.replace(/\{([^}]+)\}/g, (_whole, name: string) => server.variables?.[name]?.default ?? name);
    bases.add(new URL(url, 'http://server.invalid').pathname);
  }
  return [...bases];
}

function stripBase(path: string, basePaths: string[]): string | undefined {
  for (const base of basePaths) {
    if (base === '') return path;
    if (path === base) return '/';
    if (path.startsWith(`${base}/`)) return path.slice(base.length);
  }
  return undefined;
}

function segmentCount(path: string): number {
  return path.split('/').length;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function lowerCaseHeaders(headers: RequestToCheck['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function queryObject(query: RequestToCheck['query']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const add = (name: string, value: string) => {
    const known = out[name];
    out[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value];
  };
  if (query instanceof URLSearchParams) {
    for (const [name, value] of query) add(name, value);
  } else {
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) add(name, item);
    }
  }
  return out;
}

function isJsonMedia(type: string): boolean {
  const t = type.toLowerCase();
  return t === 'application/json' || t === '*/*' || t === 'application/*' || /^application\/[^;]+\+json$/.test(t);
}

function pickMedia(media: Map<string, unknown>, contentType: string): string | undefined {
  if (media.has(contentType)) return contentType;
  const [type] = contentType.split('/');
  if (media.has(`${type}/*`)) return `${type}/*`;
  if (media.has('*/*')) return '*/*';
  return undefined;
}

function describe(errors: ErrorObject[] | null | undefined, root: string): string {
  const error = errors?.[0];
  if (!error) return 'invalid';
  const where = `${root}${error.instancePath}`.replace(/^\//, '');
  if (error.keyword === 'additionalProperties') return `${where} has unexpected property '${String(error.params.additionalProperty)}'`;
  if (error.keyword === 'enum') return `${where} must be one of ${JSON.stringify(error.params.allowedValues)}`;
  return `${where} ${error.message ?? 'is invalid'}`;
}
