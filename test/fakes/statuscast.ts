import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { FaultTable, listenOnLoopback, readBody, sendJson } from './http.js';

/**
 * StatusCast API v4 on loopback: create, read, update (add a post, close) and search incidents;
 * list components.
 * StatusCast publishes no spec we keep in ../shared/specs, so the request and answer schemas below
 * are written from ../shared/API-NOTES.md §5b and the v4 OpenAPI vendored in gunnaraasen/statuscast-go
 * (`openapi.json`: IncidentCreate, IncidentUpdate, IncidentSearch, Incident, PagedResults-Incident).
 * That spec documents only 200/401/403/405 and no error body; where this fake answers something
 * else (400 and 404 with ASP.NET problem details, 415, required fields) the line says [inferred]:
 * it picks the strict answer, so a client that passes here would not be refused there.
 */

const INCIDENT_TYPES = ['ScheduledMaintenance', 'ServiceUnavailable', 'Informational'] as const;
const INCIDENT_STATUSES = ['Draft', 'Future', 'InProgress', 'Closed'] as const;
const POST_TYPES = ['Informational', 'Closed', 'RootCause', 'Investigating', 'Monitoring', 'Identified', 'Migration'] as const;
const COMPONENT_STATUSES = [
  'DegradedPerformance',
  'Maintenance',
  'Unavailable',
  'Informational',
  'Available',
  'Investigating',
  'Monitoring',
  'Identified',
] as const;
const CHANNELS = [
  'Mail',
  'TextMessage',
  'Slack',
  'Webhook',
  'Twitter',
  'MSTeams',
  'Facebook',
  'Webex',
  'GoogleCalendar',
  'Akamai',
] as const;
const ROLES = ['Anonymous', 'Subscriber', 'Employee', 'Manager', 'Administrator'] as const;
const STATUS_BY = ['All', 'Closed', 'OpenStarted', 'AllFuture', 'ScheduledFuture', 'OpenAll', 'Draft', 'ScheduledFutureOpenOnly'] as const;
const STATUS_TYPE = ['All', 'HappeningNow', 'Closed', 'Draft', 'Published', 'Past', 'Future'] as const;
const SORT_BY = ['StartDate', 'EndDate', 'Title', 'Status', 'LastModified', 'DateCreated'] as const;

export type StatusCastIncidentType = (typeof INCIDENT_TYPES)[number];
export type StatusCastIncidentStatus = (typeof INCIDENT_STATUSES)[number];
export type StatusCastPostType = (typeof POST_TYPES)[number];
export type StatusCastComponentStatus = (typeof COMPONENT_STATUSES)[number];

// ---- Requests (the spec marks every object additionalProperties: false; unknown fields are refused) ----

const int32 = z.int32();
const dateTime = z.iso.datetime({ offset: true });
const channels = z.array(z.enum(CHANNELS)).nullable().optional();
const customField = z.strictObject({
  name: z.string().nullable().optional(),
  value: z.string().nullable().optional(),
  required: z.boolean().optional(),
});
const scheduledMaintenance = z.strictObject({
  estimatedDurationMinutes: int32.nullable().optional(),
  notifyOnPublish: z.boolean().nullable().optional(),
  notifyDaysBefore: int32.nullable().optional(),
  notifyHoursBefore: int32.nullable().optional(),
  autoCloseAfterEstimatedDuration: z.boolean().nullable().optional(),
  recurringMaintenance: z.boolean().nullable().optional(),
  recurringInterval: int32.nullable().optional(),
  duplicateEvery: z.enum(['QuarterHour', 'Hour', 'Day', 'Week', 'Month', 'SixtyDays', 'Year']).optional(),
});
/** PostCreate. postType and text are required here [inferred]: a post without them says nothing. */
const postCreate = z.strictObject({
  text: z.string().trim().min(1),
  date: dateTime.nullable().optional(),
  externalId: z.string().nullable().optional(),
  isPublished: z.boolean().nullable().optional(),
  postType: z.enum(POST_TYPES),
  newComponentStatus: z.enum(COMPONENT_STATUSES).optional(),
  customFields: z.array(customField).nullable().optional(),
});
/** PostCreateOrUpdate: with `id` it edits that post, without it appends a new one. */
const postCreateOrUpdate = postCreate.extend({ id: int32.nullable().optional() });
const incidentFields = {
  isPublished: z.boolean().nullable().optional(),
  externalId: z.string().nullable().optional(),
  minimumRequiredRole: z.enum(ROLES).optional(),
  scheduledMaintenance: scheduledMaintenance.optional(),
  notificationChannels: channels,
  affectedComponents: z.array(int32).nullable().optional(),
  affectedGroups: z.array(int32).nullable().optional(),
  treatAsDowntime: z.boolean().nullable().optional(),
  customFields: z.array(customField).nullable().optional(),
  autocloseMessage: z.string().nullable().optional(),
  autocloseChannels: channels,
  notifyBeforeChannels: channels,
  sendNotifications: z.boolean().optional(),
  autoAssignGroupsByComponents: z.boolean().nullable().optional(),
};
/** IncidentCreate. incidentType and a title are required here [inferred]. */
const incidentCreate = z.strictObject({
  ...incidentFields,
  incidentType: z.enum(INCIDENT_TYPES),
  title: z.string().trim().min(1, 'The title field is required.'),
  posts: z.array(postCreate).nullable().optional(),
  contentTemplateId: int32.nullable().optional(),
});
/** IncidentUpdate. `id` is required here [inferred]: without it there is nothing to update. */
const incidentUpdate = z.strictObject({
  ...incidentFields,
  id: int32,
  incidentType: z.enum(INCIDENT_TYPES).optional(),
  title: z.string().trim().min(1).nullable().optional(),
  posts: z.array(postCreateOrUpdate).nullable().optional(),
});
const optionalDate = dateTime.nullable().optional();
/** IncidentSearch, with the spec's paging bounds. */
const incidentSearch = z.strictObject({
  sorting: z.enum(['Ascending', 'Descending']).optional(),
  pageNumber: int32.min(1).max(10000).nullable().optional(),
  pageSize: int32.min(1).max(100).nullable().optional(),
  incidentId: int32.nullable().optional(),
  countOnly: z.boolean().optional(),
  filterByAllSubscriberGroups: z.boolean().optional(),
  sortBy: z.enum(SORT_BY).optional(),
  incidentStatusBy: z.enum(STATUS_BY).optional(),
  incidentStatusType: z.enum(STATUS_TYPE).optional(),
  groupIds: z.array(int32).nullable().optional(),
  keyword: z.string().nullable().optional(),
  externalId: z.string().nullable().optional(),
  components: z.array(z.int()).nullable().optional(),
  startDateBefore: optionalDate,
  endDateBefore: optionalDate,
  startDateAfter: optionalDate,
  endDateAfter: optionalDate,
  userNameOrEmail: z.string().nullable().optional(),
  getInBetweenStartDateAfterAndEndDateBefore: z.boolean().nullable().optional(),
  includeExternalStatusPageIncidents: z.boolean().nullable().optional(),
  includeIncidentsNotInGroups: z.boolean().nullable().optional(),
  excludeLocalIncidents: z.boolean().nullable().optional(),
  incidentTypes: z.array(z.enum(INCIDENT_TYPES)).nullable().optional(),
  postType: z.enum(POST_TYPES).optional(),
});

// ---- Answers: the fake checks its own against these (`responseProblems` must stay empty) ----

const postView = z.strictObject({
  id: int32.nullable(),
  text: z.string().nullable(),
  date: dateTime,
  isPublished: z.boolean(),
  postType: z.enum(POST_TYPES),
  newComponentStatus: z.enum(COMPONENT_STATUSES).optional(),
  customFieldList: z.array(z.strictObject({ name: z.string().nullable(), value: z.string().nullable() })).nullable(),
});
const incidentView = z.strictObject({
  id: int32,
  dateCreated: dateTime,
  incidentType: z.enum(INCIDENT_TYPES),
  status: z.enum(INCIDENT_STATUSES),
  title: z.string().nullable(),
  startDate: dateTime.nullable(),
  endDate: dateTime.nullable(),
  shortUrl: z.string().nullable(),
  duration: int32.nullable(),
  durationText: z.string().nullable(),
  externalId: z.string().nullable(),
  estimatedDurationMinutes: int32.nullable(),
  posts: z.array(postView).nullable(),
  affectedComponents: z
    .array(
      z.strictObject({
        componentId: int32.nullable(),
        componentName: z.string().nullable(),
        iconImageSrc: z.string().nullable(),
        directlyEffected: z.boolean(),
      }),
    )
    .nullable(),
  affectedGroups: z.array(z.unknown()).nullable(),
  customFieldList: z.array(z.unknown()).nullable(),
  groups: z.array(int32).nullable(),
});
/** `Component` (GET /api/v4/components answers an array of them). */
const componentView = z.strictObject({
  id: int32,
  name: z.string().nullable(),
  parentId: int32,
  description: z.string().nullable(),
  peerDisplayPriority: int32,
  iconImageSrc: z.string().nullable(),
  externalId: z.string().nullable(),
  isHidden: z.boolean(),
  status: z.enum(COMPONENT_STATUSES),
  isCloudComponent: z.boolean(),
  level: int32,
  bubbleLesserStatus: z.boolean(),
  linkedComponents: z.array(int32).nullable(),
});
const pagedIncidents = z.strictObject({
  items: z.array(incidentView).nullable(),
  totalItems: int32,
  page: int32,
  pageSize: int32,
  pages: int32,
  cursor: z.string().nullable(),
});

// ---- State ----

export interface StatusCastComponent {
  id: number;
  name: string;
}

export interface StatusCastPost {
  id: number;
  text: string;
  date: string;
  isPublished: boolean;
  postType: StatusCastPostType;
  newComponentStatus?: StatusCastComponentStatus;
  /** Kept, as sent; v4 answers never show it (the spec's Post view has no externalId). */
  externalId?: string | null;
}

export interface StatusCastIncident {
  id: number;
  dateCreated: string;
  incidentType: StatusCastIncidentType;
  status: StatusCastIncidentStatus;
  title: string;
  startDate: string;
  endDate: string | null;
  externalId: string | null;
  minimumRequiredRole?: string;
  treatAsDowntime?: boolean | null;
  posts: StatusCastPost[];
  affectedComponents: number[];
  /** Subscriber notifications StatusCast would have sent for it, in order. */
  notifications: Array<{ reason: 'created' | 'updated'; postType?: StatusCastPostType }>;
}

export interface RecordedRequest {
  /** When the fake received it (ms since the epoch): lets tests check Retry-After was honoured. */
  receivedAt: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  status: number;
  /** createIncident, updateIncident, getIncident, searchIncidents or listComponents, once the route matched. */
  operation?: string;
  /** Why it was refused (the problem details' title and field errors). */
  refused?: string;
  fault?: 'error' | 'rateLimited' | 'applyThenFail' | 'hang';
}

export interface StatusCastFake {
  /** Base URL, as STATUSCAST_URL holds it. */
  url: string;
  apiToken: string;
  requests: RecordedRequest[];
  incidents: Map<number, StatusCastIncident>;
  /** The account's components; `affectedComponents` must name these. */
  components: Map<number, StatusCastComponent>;
  /** Faults by operation (createIncident, updateIncident, getIncident, searchIncidents, listComponents) or `*`. A rate limit sends Retry-After. */
  faults: FaultTable;
  /** Answers this fake sent that its own schema found wrong: must stay empty. */
  responseProblems: string[];
  /** Forgets requests and incidents (ids start again at the samples' 50211), restores the components, clears faults, drops hung calls. */
  reset(): void;
  stop(): Promise<void>;
}

export interface StatusCastFakeOptions {
  apiToken?: string;
  /** Default: Checkout (20609, the samples' component) and Public API (20610). */
  components?: StatusCastComponent[];
  /** Source of randomness for errorRate; tests pass a fixed sequence. */
  random?: () => number;
}

const DEFAULT_COMPONENTS: StatusCastComponent[] = [
  { id: 20609, name: 'Checkout' },
  { id: 20610, name: 'Public API' },
];
const PUBLIC_PAGE = 'https://status.example.com';
const FIRST_INCIDENT_ID = 50211;
const FIRST_POST_ID = 880101;

/** ASP.NET Core problem details [inferred: StatusCast's v4 is ASP.NET, its spec shows no error body]. */
interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors?: Record<string, string[]>;
}

function problem(status: number, title: string, extra: Omit<Problem, 'title' | 'status'> = {}): Problem {
  return { type: `https://tools.ietf.org/html/rfc9110#status-${status}`, title, status, ...extra };
}

function validationProblem(errors: Record<string, string[]>): Problem {
  return problem(400, 'One or more validation errors occurred.', { errors });
}

function zodErrors(error: z.ZodError): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const field =
      issue.path.reduce<string>(
        (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)),
        '',
      ) || '$';
    (errors[field] ??= []).push(issue.message);
  }
  return errors;
}

const ROUTES: Array<{ method: string; pattern: RegExp; operation: string }> = [
  { method: 'POST', pattern: /^\/api\/v4\/incident$/, operation: 'createIncident' },
  { method: 'PUT', pattern: /^\/api\/v4\/incident$/, operation: 'updateIncident' },
  { method: 'GET', pattern: /^\/api\/v4\/incident\/(?<id>[^/]+)$/, operation: 'getIncident' },
  { method: 'POST', pattern: /^\/api\/v4\/incidents$/, operation: 'searchIncidents' },
  { method: 'GET', pattern: /^\/api\/v4\/components$/, operation: 'listComponents' },
];

/** Starts the fake on 127.0.0.1 with a random port. */
export async function startStatusCastFake(options: StatusCastFakeOptions = {}): Promise<StatusCastFake> {
  const apiToken = options.apiToken ?? `sc-token-${randomUUID().replace(/-/g, '')}`;
  const requests: RecordedRequest[] = [];
  const responseProblems: string[] = [];
  const incidents = new Map<number, StatusCastIncident>();
  const components = new Map<number, StatusCastComponent>();
  const hung = new Set<ServerResponse>();
  let nextIncidentId = FIRST_INCIDENT_ID;
  let nextPostId = FIRST_POST_ID;

  const seed = () => {
    components.clear();
    for (const component of options.components ?? DEFAULT_COMPONENTS) components.set(component.id, { ...component });
  };
  seed();

  const fake = {
    url: '',
    apiToken,
    requests,
    incidents,
    components,
    faults: new FaultTable(options.random),
    responseProblems,
    reset() {
      requests.length = 0;
      responseProblems.length = 0;
      incidents.clear();
      nextIncidentId = FIRST_INCIDENT_ID;
      nextPostId = FIRST_POST_ID;
      seed();
      fake.faults.clear();
      for (const res of hung) res.destroy();
      hung.clear();
    },
    stop: async () => {
      for (const res of hung) res.destroy();
      hung.clear();
      await server.stop();
    },
  } satisfies StatusCastFake;

  const view = (incident: StatusCastIncident) => ({
    id: incident.id,
    dateCreated: incident.dateCreated,
    incidentType: incident.incidentType,
    status: incident.status,
    title: incident.title,
    startDate: incident.startDate,
    endDate: incident.endDate,
    shortUrl: `${PUBLIC_PAGE}/incident/${incident.id}`,
    duration: incident.endDate ? Math.round((Date.parse(incident.endDate) - Date.parse(incident.startDate)) / 60_000) : null,
    durationText: null,
    externalId: incident.externalId,
    estimatedDurationMinutes: null,
    posts: incident.posts.map((post) => ({
      id: post.id,
      text: post.text,
      date: post.date,
      isPublished: post.isPublished,
      postType: post.postType,
      ...(post.newComponentStatus ? { newComponentStatus: post.newComponentStatus } : {}),
      customFieldList: [],
    })),
    affectedComponents: incident.affectedComponents.map((id) => ({
      componentId: id,
      componentName: components.get(id)?.name ?? null,
      iconImageSrc: null,
      directlyEffected: true,
    })),
    affectedGroups: [],
    customFieldList: [],
    groups: [],
  });

  const unknownComponents = (ids: number[] | null | undefined): Problem | undefined => {
    const unknown = (ids ?? []).filter((id) => !components.has(id));
    return unknown.length > 0
      ? validationProblem({ affectedComponents: unknown.map((id) => `Component ${id} does not exist.`) })
      : undefined;
  };

  /** A post added by create or update; a Closed post closes the incident. */
  const addPost = (incident: StatusCastIncident, post: z.infer<typeof postCreate>, published: boolean) => {
    const added: StatusCastPost = {
      id: nextPostId++,
      text: post.text,
      date: post.date ?? new Date().toISOString(),
      isPublished: post.isPublished ?? published,
      postType: post.postType,
      newComponentStatus: post.newComponentStatus,
      externalId: post.externalId,
    };
    incident.posts.push(added);
    if (added.postType === 'Closed') {
      incident.status = 'Closed';
      incident.endDate = added.date;
    }
    return added;
  };

  /** Applies one checked request; answers [status, body]. */
  const operate = (operation: string, id: string | undefined, body: any): [number, unknown] => {
    switch (operation) {
      case 'createIncident': {
        const request = body as z.infer<typeof incidentCreate>;
        const refusal = unknownComponents(request.affectedComponents);
        if (refusal) return [400, refusal];
        const now = new Date().toISOString();
        // isPublished absent reads as published [inferred: statuscast-go creates without it and expects a live incident].
        const published = request.isPublished !== false;
        const incident: StatusCastIncident = {
          id: nextIncidentId++,
          dateCreated: now,
          incidentType: request.incidentType,
          status: published ? 'InProgress' : 'Draft',
          title: request.title,
          startDate: request.posts?.[0]?.date ?? now,
          endDate: null,
          externalId: request.externalId ?? null,
          minimumRequiredRole: request.minimumRequiredRole,
          treatAsDowntime: request.treatAsDowntime,
          posts: [],
          affectedComponents: [...new Set(request.affectedComponents ?? [])],
          notifications: [],
        };
        for (const post of request.posts ?? []) addPost(incident, post, published);
        // "Send or resend notifications. Only used if IsPublished is true" (IncidentCreate.sendNotifications).
        if (published && request.sendNotifications) incident.notifications.push({ reason: 'created' });
        incidents.set(incident.id, incident);
        return [200, view(incident)];
      }
      case 'updateIncident': {
        const request = body as z.infer<typeof incidentUpdate>;
        const incident = incidents.get(request.id);
        if (!incident) return [404, problem(404, 'Not Found', { detail: `Incident ${request.id} was not found.` })];
        const refusal = unknownComponents(request.affectedComponents);
        if (refusal) return [400, refusal];
        const unknownPost = request.posts?.find((post) => post.id != null && !incident.posts.some((known) => known.id === post.id));
        if (unknownPost)
          return [
            404,
            problem(404, 'Not Found', { detail: `Incident update ${unknownPost.id} was not found on incident ${incident.id}.` }),
          ];
        if (request.title) incident.title = request.title;
        if (request.incidentType) incident.incidentType = request.incidentType;
        if (request.affectedComponents) incident.affectedComponents = [...new Set(request.affectedComponents)];
        if (request.isPublished === true && incident.status === 'Draft') incident.status = 'InProgress';
        if (request.isPublished === false && incident.status === 'InProgress') incident.status = 'Draft';
        const published = incident.status !== 'Draft';
        for (const post of request.posts ?? []) {
          const known = post.id != null ? incident.posts.find((candidate) => candidate.id === post.id) : undefined;
          if (known) {
            Object.assign(known, { text: post.text, postType: post.postType, isPublished: post.isPublished ?? known.isPublished });
            if (post.newComponentStatus) known.newComponentStatus = post.newComponentStatus;
            if (post.postType === 'Closed') {
              incident.status = 'Closed';
              incident.endDate = known.date;
            }
          } else {
            const added = addPost(incident, post, published);
            if (published && request.sendNotifications) incident.notifications.push({ reason: 'updated', postType: added.postType });
          }
        }
        return [200, view(incident)];
      }
      case 'getIncident': {
        // The path parameter is an int32 (spec); anything else fails model binding [inferred status].
        if (!/^\d{1,10}$/.test(id ?? '')) return [400, validationProblem({ id: [`The value '${id}' is not valid.`] })];
        const incident = incidents.get(Number(id));
        return incident ? [200, view(incident)] : [404, problem(404, 'Not Found', { detail: `Incident ${id} was not found.` })];
      }
      case 'listComponents':
        // Root components in the order they were added, none hidden. A root's parentId is 0 [inferred: the spec makes it a non-nullable int32].
        return [
          200,
          [...components.values()].map((component, index) => ({
            id: component.id,
            name: component.name,
            parentId: 0,
            description: null,
            peerDisplayPriority: index,
            iconImageSrc: null,
            externalId: null,
            isHidden: false,
            status: 'Available',
            isCloudComponent: false,
            level: 0,
            bubbleLesserStatus: false,
            linkedComponents: [],
          })),
        ];
      case 'searchIncidents': {
        const request = body as z.infer<typeof incidentSearch>;
        const now = Date.now();
        const open = (incident: StatusCastIncident) => incident.endDate === null;
        const started = (incident: StatusCastIncident) => Date.parse(incident.startDate) <= now;
        const byStatus: Record<(typeof STATUS_BY)[number], (incident: StatusCastIncident) => boolean> = {
          All: () => true,
          Closed: (incident) => !open(incident),
          OpenStarted: (incident) => open(incident) && started(incident) && incident.status !== 'Draft',
          AllFuture: (incident) => !started(incident),
          ScheduledFuture: (incident) => !started(incident) && incident.incidentType === 'ScheduledMaintenance',
          OpenAll: open,
          Draft: (incident) => incident.status === 'Draft',
          ScheduledFutureOpenOnly: (incident) => open(incident) && !started(incident) && incident.incidentType === 'ScheduledMaintenance',
        };
        const keyword = request.keyword?.toLowerCase();
        let found = [...incidents.values()].filter(
          (incident) =>
            byStatus[request.incidentStatusBy ?? 'All'](incident) &&
            // "Filter by external id": exact match [inferred; the spec does not say].
            (request.externalId == null || incident.externalId === request.externalId) &&
            (request.incidentId == null || incident.id === request.incidentId) &&
            (!keyword || incident.title.toLowerCase().includes(keyword)) &&
            (!request.incidentTypes?.length || request.incidentTypes.includes(incident.incidentType)),
        );
        const sortKey: Record<(typeof SORT_BY)[number], (incident: StatusCastIncident) => string | number> = {
          StartDate: (incident) => incident.startDate,
          EndDate: (incident) => incident.endDate ?? '',
          Title: (incident) => incident.title,
          Status: (incident) => incident.status,
          LastModified: (incident) => incident.posts.at(-1)?.date ?? incident.dateCreated,
          DateCreated: (incident) => incident.id,
        };
        const key = sortKey[request.sortBy ?? 'DateCreated'];
        const direction = request.sorting === 'Descending' ? -1 : 1;
        found = found.sort((a, b) => (key(a) < key(b) ? -direction : key(a) > key(b) ? direction : 0));
        const page = request.pageNumber ?? 1;
        const pageSize = request.pageSize ?? 20;
        const pages = Math.max(1, Math.ceil(found.length / pageSize));
        const items = request.countOnly ? [] : found.slice((page - 1) * pageSize, page * pageSize).map(view);
        return [200, { items, totalItems: found.length, page, pageSize, pages, cursor: null }];
      }
      default:
        return [404, problem(404, 'Not Found')];
    }
  };

  const answerSchemas: Record<string, z.ZodType> = {
    createIncident: incidentView,
    updateIncident: incidentView,
    getIncident: incidentView,
    searchIncidents: pagedIncidents,
    listComponents: z.array(componentView),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const record: RecordedRequest = {
      receivedAt: Date.now(),
      method,
      path: url.pathname,
      headers: req.headers,
      body: undefined,
      status: 0,
    };
    requests.push(record);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      if (status >= 400 && body && typeof body === 'object') {
        const refusal = body as Problem;
        record.refused = [
          refusal.title,
          refusal.detail,
          ...Object.entries(refusal.errors ?? {}).map(([field, messages]) => `${field}: ${messages.join(' ')}`),
        ]
          .filter(Boolean)
          .join(' | ');
      } else if (status >= 400) {
        record.refused = `HTTP ${status}`;
      }
      const schema = status === 200 && record.operation ? answerSchemas[record.operation] : undefined;
      const checked = schema?.safeParse(body);
      if (checked && !checked.success) responseProblems.push(`${record.operation}: ${JSON.stringify(zodErrors(checked.error))}`);
      if (!res.destroyed && !res.writableEnded) sendJson(res, status, body, headers);
    };

    // "Authorization: Bearer <token>" (API token or /api/authenticate token); ASP.NET's JwtBearer answers 401 without a body.
    const header = req.headers.authorization;
    const bearer = /^Bearer (.+)$/.exec(typeof header === 'string' ? header : '');
    if (!bearer) return answer(401, undefined, { 'www-authenticate': 'Bearer' });
    if (bearer[1] !== apiToken) return answer(401, undefined, { 'www-authenticate': 'Bearer error="invalid_token"' });

    const matches = ROUTES.filter((route) => route.pattern.test(url.pathname));
    if (matches.length === 0) return answer(404, problem(404, 'Not Found'));
    const route = matches.find((candidate) => candidate.method === method);
    // The spec documents 405 (NotAllowed) on every operation.
    if (!route) return answer(405, undefined, { allow: matches.map((candidate) => candidate.method).join(', ') });
    record.operation = route.operation;
    const id = route.pattern.exec(url.pathname)?.groups?.id;

    let body: unknown;
    if (method !== 'GET') {
      const contentType = (typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      // Every v4 operation here takes application/json only [inferred: ASP.NET answers other types 415].
      if (contentType !== 'application/json') return answer(415, problem(415, 'Unsupported Media Type'));
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return answer(400, validationProblem({ $: ['The request body is not valid JSON.'] }));
      }
      record.body = body;
      const schema =
        route.operation === 'createIncident' ? incidentCreate : route.operation === 'updateIncident' ? incidentUpdate : incidentSearch;
      const parsed = schema.safeParse(body);
      if (!parsed.success) return answer(400, validationProblem(zodErrors(parsed.error)));
      body = parsed.data;
    }

    const decision = await fake.faults.decide([route.operation, '*']);
    if (decision.kind === 'hang') {
      record.fault = 'hang';
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (decision.kind === 'rateLimit') {
      record.fault = 'rateLimited';
      // statuscast-go maps a 429; Retry-After on it is [inferred].
      return answer(429, problem(429, 'Too Many Requests'), { 'retry-after': String(decision.retryAfterSeconds) });
    }
    if (decision.kind === 'error') {
      record.fault = 'error';
      return answer(500, problem(500, 'An error occurred while processing your request.'));
    }

    const [status, result] = operate(route.operation, id, body);
    if (decision.applyThenFail && status < 300) {
      record.fault = 'applyThenFail';
      return answer(500, problem(500, 'An error occurred while processing your request.'));
    }
    return answer(status, result);
  };

  const server = await listenOnLoopback(handle);
  fake.url = server.url;
  return fake;
}
