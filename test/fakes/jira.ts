import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultTable, listenOnLoopback, readBody, sendJson, type FaultDecision } from './http.js';
import { loadSpec, type CheckResult } from './openapi.js';

/**
 * Jira Cloud REST v3 as jira.js 6 speaks it, on loopback, with state: issues, comments,
 * attachments, a workflow (To Do → In Progress → Done), one project with its issue types, and the
 * account (`/myself`, `/mypermissions`). Every request is checked against Atlassian's OpenAPI
 * description and refused the way Jira refuses; faults can be injected per operation.
 */

type Json = Record<string, any>;

export interface JiraStatus {
  self: string;
  id: string;
  name: string;
  description: string;
  iconUrl: string;
  statusCategory: { self: string; id: number; key: 'new' | 'indeterminate' | 'done'; colorName: string; name: string };
}

export interface JiraTransition {
  id: string;
  name: string;
  to: JiraStatus;
  hasScreen: boolean;
  isGlobal: boolean;
  isInitial: boolean;
  isAvailable: boolean;
  isConditional: boolean;
  isLooped: boolean;
}

export interface JiraFakeComment {
  id: string;
  body: Json;
  created: string;
}

export interface JiraFakeAttachment {
  id: string;
  filename: string;
  mimeType: string;
  /** The file's text (the fake keeps what it was sent, decoded as UTF-8). */
  text: string;
  size: number;
  created: string;
}

export interface JiraFakeIssue {
  id: string;
  key: string;
  /** When it was created (ms since epoch): search sees it only `searchLagMs` later. */
  createdAt: number;
  fields: Json;
  comments: JiraFakeComment[];
  attachments: JiraFakeAttachment[];
}

/** One part of a multipart/form-data body, as the fake read it. */
export interface JiraFakePart {
  name: string;
  filename?: string;
  type: string;
  size: number;
  text: string;
}

export interface JiraFakeRequest {
  /** When the fake received it (ms since the epoch): lets tests check Retry-After was honoured. */
  receivedAt: number;
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** The operation (spec operationId) the fake routed it to, when it knows one. */
  operation?: string;
  /** The spec check's verdict; undefined for requests refused before it (v2, auth). */
  check?: CheckResult;
  /** Why the fake refused it (spec, auth, v2, Jira's own validation), if it did. */
  refused?: string;
  fault?: FaultDecision['kind'] | 'applyThenFail';
  /** HTTP status answered; 0 while unanswered (hung). */
  status: number;
}

export interface JiraFakeOptions {
  email?: string;
  apiToken?: string;
  projectKey?: string;
  issueTypes?: string[];
  /** Search ignores issues younger than this unless their id is in `reconcileIssues` (default 0). */
  searchLagMs?: number;
  /** Custom fields create must be given, by id → display name (Jira answers `<name> is required.`). */
  requiredFields?: Record<string, string>;
  /** Project permissions the account holds (GET /mypermissions); default: every one in {@link JIRA_PERMISSIONS}. */
  permissions?: string[];
  random?: () => number;
}

/** Project permissions the fake knows, with Jira's ids and names; any other key is a 400, as in Jira. */
export const JIRA_PERMISSIONS: Record<string, { id: string; name: string; description: string }> = {
  BROWSE_PROJECTS: { id: '10', name: 'Browse Projects', description: 'Ability to browse projects and the issues within them.' },
  CREATE_ISSUES: { id: '11', name: 'Create Issues', description: 'Ability to create issues.' },
  EDIT_ISSUES: { id: '12', name: 'Edit Issues', description: 'Ability to edit issues.' },
  ASSIGN_ISSUES: { id: '13', name: 'Assign Issues', description: 'Ability to assign issues to other people.' },
  RESOLVE_ISSUES: { id: '14', name: 'Resolve Issues', description: 'Ability to resolve and reopen issues.' },
  ADD_COMMENTS: { id: '15', name: 'Add Comments', description: 'Ability to comment on issues.' },
  CREATE_ATTACHMENTS: { id: '19', name: 'Create Attachments', description: 'Users with this permission may create attachments.' },
  TRANSITION_ISSUES: { id: '46', name: 'Transition Issues', description: 'Ability to transition issues.' },
};

export interface JiraFake {
  url: string;
  email: string;
  apiToken: string;
  projectKey: string;
  /** Every request received, in order. */
  requests: JiraFakeRequest[];
  state: {
    issues: JiraFakeIssue[];
    /** The workflow's transitions; each is offered from every status but its target (Jira's global transitions). */
    transitions: JiraTransition[];
    /** Where new issues start. */
    initialStatus: JiraStatus;
  };
  /** Per-route faults: `faults.set('createIssue', { applyThenFail: true })`; `*` applies to every route. */
  faults: FaultTable;
  searchLagMs: number;
  requiredFields: Record<string, string>;
  /** Project permissions the account holds now (GET /mypermissions answers from it). */
  permissions: Set<string>;
  /** Requests the spec check refused (should be none when our client is right). */
  refusals(): JiraFakeRequest[];
  /** Calls to the v2 API (jira.js 6 routes string descriptions and comments there; we must send ADF). */
  v2Requests(): JiraFakeRequest[];
  /** Answers of the fake that did not match the documented response schema (should be none). */
  responseProblems: string[];
  issuesWithLabel(label: string): JiraFakeIssue[];
  /** Forgets issues, requests, faults and lag; keeps the port. */
  reset(): void;
  stop(): Promise<void>;
}

const SPEC_FILE = 'jira-cloud-platform-v3.openapi.json';
/**
 * Jira's limit on a comment: [obs] 400 `{"errors":{"comment":"The entered text is too long. It
 * exceeds the allowed limit of 32767 characters."}}` (jenkinsci/jira-plugin#667). Whether Cloud counts
 * an ADF body's JSON or its text is not documented [inferred]: the fake counts the JSON.
 */
export const JIRA_COMMENT_LIMIT = 32_767;
const fixture = (name: string): Json => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as Json;

/** Jira's own error body. */
const jiraError = (errorMessages: string[], errors: Record<string, string> = {}) => ({ errorMessages, errors });

/** Fields a create may set besides the required custom ones; anything else is "not on the screen" as in Jira. */
const SETTABLE_FIELDS = new Set([
  'summary',
  'description',
  'labels',
  'project',
  'issuetype',
  'priority',
  'assignee',
  'reporter',
  'components',
  'environment',
  'duedate',
  'fixVersions',
  'versions',
  'parent',
]);

/** Starts the fake on a random loopback port. */
export async function startJiraFake(options: JiraFakeOptions = {}): Promise<JiraFake> {
  const spec = loadSpec(SPEC_FILE);
  const email = options.email ?? 'warroom-bot@example.com';
  const apiToken = options.apiToken ?? 'jira-fake-api-token';
  const projectKey = options.projectKey ?? 'RLY';
  const issueTypes = options.issueTypes ?? ['Task', 'Bug', 'Story', 'Incident'];
  const expectedAuth = `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}`;
  const errors: unknown[] = [];
  let url = '';

  const sampleTransitions = (fixture('jira-get-transitions-response.json').transitions as JiraTransition[]).map((t) => structuredClone(t));
  const toDo = (): JiraStatus => ({
    self: `${url}/rest/api/3/status/10000`,
    id: '10000',
    name: 'To Do',
    description: '',
    iconUrl: `${url}/images/icons/statuses/open.png`,
    statusCategory: { self: `${url}/rest/api/3/statuscategory/2`, id: 2, key: 'new', colorName: 'blue-gray', name: 'To Do' },
  });

  let nextId = 10_000;
  let nextNumber = 1;
  let nextCommentId = 20_000;
  let nextAttachmentId = 30_000;

  const fake: JiraFake = {
    url: '',
    email,
    apiToken,
    projectKey,
    requests: [],
    state: { issues: [], transitions: structuredClone(sampleTransitions), initialStatus: toDo() },
    faults: new FaultTable(options.random),
    searchLagMs: options.searchLagMs ?? 0,
    requiredFields: { ...options.requiredFields },
    permissions: new Set(options.permissions ?? Object.keys(JIRA_PERMISSIONS)),
    responseProblems: [],
    refusals: () => fake.requests.filter((request) => request.check && !request.check.ok),
    v2Requests: () => fake.requests.filter((request) => request.path.startsWith('/rest/api/2/')),
    issuesWithLabel: (label) => fake.state.issues.filter((issue) => (issue.fields.labels as string[]).includes(label)),
    reset() {
      fake.requests.length = 0;
      fake.responseProblems.length = 0;
      fake.state.issues.length = 0;
      fake.state.transitions = structuredClone(sampleTransitions);
      fake.state.initialStatus = toDo();
      fake.faults.clear();
      fake.searchLagMs = options.searchLagMs ?? 0;
      fake.requiredFields = { ...options.requiredFields };
      fake.permissions = new Set(options.permissions ?? Object.keys(JIRA_PERMISSIONS));
      nextId = 10_000;
      nextNumber = 1;
      nextCommentId = 20_000;
      nextAttachmentId = 30_000;
    },
    stop: async () => {
      await server.stop();
      if (errors.length > 0) throw new Error(`the Jira fake failed: ${String(errors[0])}`);
    },
  };

  const findIssue = (idOrKey: string) => fake.state.issues.find((issue) => issue.id === idOrKey || issue.key === idOrKey.toUpperCase());
  const issueSelf = (issue: JiraFakeIssue) => `${url}/rest/api/3/issue/${issue.id}`;
  const now = () => jiraTime(new Date());

  /** The issue as Jira shows it, with `fields` cut to what was asked for (undefined: all). */
  const render = (issue: JiraFakeIssue, fields?: string[]): Json => {
    const wanted = fields && !fields.some((field) => field === '*all' || field === '*navigable') ? fields : undefined;
    const all: Json = {
      ...issue.fields,
      comment: { comments: issue.comments.map((c) => renderComment(issue, c)), total: issue.comments.length },
      attachment: issue.attachments.map(renderAttachment),
    };
    return {
      expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
      id: issue.id,
      self: issueSelf(issue),
      key: issue.key,
      fields: wanted ? Object.fromEntries(wanted.filter((name) => name in all).map((name) => [name, all[name]])) : all,
    };
  };

  const author = () => ({
    self: `${url}/rest/api/3/user?accountId=5b10ac8d82e05b22cc7d4ef5`,
    accountId: '5b10ac8d82e05b22cc7d4ef5',
    displayName: 'Incident Engine',
    active: true,
    accountType: 'atlassian',
  });
  const renderAttachment = (attachment: JiraFakeAttachment): Json => ({
    self: `${url}/rest/api/3/attachments/${attachment.id}`,
    id: attachment.id,
    filename: attachment.filename,
    author: author(),
    created: attachment.created,
    size: attachment.size,
    mimeType: attachment.mimeType,
    content: `${url}/rest/api/3/attachment/content/${attachment.id}`,
  });
  const renderComment = (issue: JiraFakeIssue, comment: JiraFakeComment): Json => ({
    self: `${issueSelf(issue)}/comment/${comment.id}`,
    id: comment.id,
    author: author(),
    body: comment.body,
    updateAuthor: author(),
    created: comment.created,
    updated: comment.created,
    jsdPublic: true,
  });

  type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
  type Handler = (params: Record<string, string>, query: URLSearchParams, body: any) => Answer;

  const notFound = (): Answer => ({ status: 404, body: jiraError(['Issue does not exist or you do not have permission to see it.']) });

  const createIssue: Handler = (_params, _query, body) => {
    const fields = (body?.fields ?? {}) as Json;
    const problems: Record<string, string> = {};
    const project = fields.project as Json | undefined;
    if (!project || (project.key !== projectKey && project.id !== '10000')) problems.project = 'Specify a valid project ID or key';
    const type = fields.issuetype as Json | undefined;
    if (!type) problems.issuetype = 'Specify an issue type';
    else if (!issueTypes.includes(type.name) && !issueTypes.some((_name, index) => String(10_001 + index) === type.id)) {
      problems.issuetype = 'Specify a valid issue type';
    }
    if (typeof fields.summary !== 'string' || fields.summary.trim() === '') problems.summary = 'You must specify a summary of the issue.';
    else if (fields.summary.length > 255) problems.summary = 'Summary must be less than 255 characters.';
    else if (/[\r\n]/.test(fields.summary)) problems.summary = 'Field can not contain new lines.';
    if (fields.description !== undefined && fields.description !== null) {
      if (typeof fields.description === 'string') {
        problems.description = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
      } else if (!isAdfDocument(fields.description)) {
        problems.description = 'INVALID_INPUT';
      }
    }
    if (fields.labels !== undefined) {
      const labels = fields.labels as unknown;
      if (!Array.isArray(labels) || labels.some((label) => typeof label !== 'string'))
        problems.labels = 'The labels field must be an array of strings.';
      else {
        const spaced = labels.find((label: string) => /\s/.test(label));
        const long = labels.find((label: string) => label.length > 255);
        // Word for word what Jira answers (test/fixtures/jira-error-400-labels.json).
        if (spaced !== undefined) problems.labels = `The label '${spaced}' contains spaces which is invalid.`;
        else if (long !== undefined)
          problems.labels = `The label '${long}' exceeds the maximum length for a single label of 255 characters.`;
      }
    }
    for (const [id, name] of Object.entries(fake.requiredFields)) {
      const value = fields[id];
      if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0))
        problems[id] = `${name} is required.`;
    }
    for (const name of Object.keys(fields)) {
      if (!SETTABLE_FIELDS.has(name) && !(name in fake.requiredFields)) {
        problems[name] = `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`;
      }
    }
    if (Object.keys(problems).length > 0) return { status: 400, body: jiraError([], problems) };

    const id = String(nextId++);
    const key = `${projectKey}-${nextNumber++}`;
    const created = now();
    const typeIndex = Math.max(
      0,
      issueTypes.findIndex((name, index) => name === type!.name || String(10_001 + index) === type!.id),
    );
    const issue: JiraFakeIssue = {
      id,
      key,
      createdAt: Date.now(),
      comments: [],
      attachments: [],
      fields: {
        ...fields,
        summary: fields.summary,
        labels: [...((fields.labels as string[] | undefined) ?? [])],
        project: { self: `${url}/rest/api/3/project/10000`, id: '10000', key: projectKey, name: 'Relay', projectTypeKey: 'software' },
        issuetype: {
          self: `${url}/rest/api/3/issuetype/${10_001 + typeIndex}`,
          id: String(10_001 + typeIndex),
          name: issueTypes[typeIndex],
          subtask: false,
        },
        status: structuredClone(fake.state.initialStatus),
        created,
        updated: created,
      },
    };
    fake.state.issues.push(issue);
    return { status: 201, body: { id, key, self: issueSelf(issue) } };
  };

  const getIssue: Handler = (params, query) => {
    const issue = findIssue(params.issueIdOrKey!);
    if (!issue) return notFound();
    return { status: 200, body: render(issue, listParam(query, 'fields')) };
  };

  const available = (issue: JiraFakeIssue) => fake.state.transitions.filter((t) => t.to.id !== issue.fields.status.id);

  const getTransitions: Handler = (params) => {
    const issue = findIssue(params.issueIdOrKey!);
    if (!issue) return notFound();
    return { status: 200, body: { expand: 'transitions', transitions: structuredClone(available(issue)) } };
  };

  const doTransition: Handler = (params, _query, body) => {
    const issue = findIssue(params.issueIdOrKey!);
    if (!issue) return notFound();
    const id = body?.transition?.id as string | undefined;
    const transition = available(issue).find((t) => t.id === id);
    if (!transition) return { status: 400, body: jiraError([`Transition id '${String(id)}' is not valid for this issue.`]) };
    issue.fields.status = structuredClone(transition.to);
    issue.fields.updated = now();
    return { status: 204 };
  };

  const getComments: Handler = (params, query) => {
    const issue = findIssue(params.issueIdOrKey!);
    if (!issue) return notFound();
    const startAt = Number(query.get('startAt') ?? 0);
    const maxResults = Math.min(Number(query.get('maxResults') ?? 100), 5000);
    const ordered = query.get('orderBy') === '-created' ? [...issue.comments].reverse() : issue.comments;
    return {
      status: 200,
      body: {
        startAt,
        maxResults,
        total: issue.comments.length,
        comments: ordered.slice(startAt, startAt + maxResults).map((comment) => renderComment(issue, comment)),
      },
    };
  };

  const addComment: Handler = (params, _query, body) => {
    const issue = findIssue(params.issueIdOrKey!);
    if (!issue) return notFound();
    if (body?.body === undefined || body.body === null)
      return { status: 400, body: jiraError([], { comment: 'Comment body can not be empty!' }) };
    if (!isAdfDocument(body.body)) return { status: 400, body: jiraError([], { comment: 'INVALID_INPUT' }) };
    if (JSON.stringify(body.body).length > JIRA_COMMENT_LIMIT) {
      return {
        status: 400,
        body: jiraError([], { comment: `The entered text is too long. It exceeds the allowed limit of ${JIRA_COMMENT_LIMIT} characters.` }),
      };
    }
    const comment: JiraFakeComment = { id: String(nextCommentId++), body: body.body as Json, created: now() };
    issue.comments.push(comment);
    issue.fields.updated = comment.created;
    return { status: 201, body: renderComment(issue, comment) };
  };

  /** The multipart body's `file` parts become attachments (the spec: "the parameter ... must be `file`"). */
  const addAttachment: Handler = (params, _query, body) => {
    const issue = findIssue(params.issueIdOrKey!);
    if (!issue) return notFound();
    const files = ((body as { parts?: JiraFakePart[] } | undefined)?.parts ?? []).filter((part) => part.name === 'file' && part.filename);
    // [inferred] Jira's answer to an upload without a `file` part is not documented; a fake refuses it.
    if (files.length === 0)
      return { status: 400, body: jiraError(["No file found in the request: send the attachments as parts named 'file'."]) };
    const created = now();
    const added = files.map((part): JiraFakeAttachment => ({
      id: String(nextAttachmentId++),
      filename: part.filename!,
      mimeType: part.type || 'application/octet-stream',
      text: part.text,
      size: part.size,
      created,
    }));
    issue.attachments.push(...added);
    issue.fields.updated = created;
    return { status: 200, body: added.map(renderAttachment) };
  };

  const search = (source: {
    jql?: unknown;
    fields?: string[];
    maxResults?: unknown;
    nextPageToken?: unknown;
    reconcileIssues?: number[];
  }): Answer => {
    const jql = typeof source.jql === 'string' ? source.jql.trim() : '';
    if (!jql) {
      return {
        status: 400,
        body: jiraError(['Unbounded JQL queries are not allowed here. Please add a search restriction to your query.']),
      };
    }
    const query = parseJql(jql);
    if ('error' in query) return { status: 400, body: jiraError([query.error]) };
    const reconcile = new Set((source.reconcileIssues ?? []).map(String));
    const visibleAfter = Date.now() - fake.searchLagMs;
    const hits = fake.state.issues
      .filter((issue) => issue.createdAt <= visibleAfter || reconcile.has(issue.id))
      .filter((issue) => query.clauses.every((clause) => clause(issue)));
    if (query.descending) hits.reverse();
    const maxResults = Math.max(1, Math.min(Number(source.maxResults ?? 50) || 50, 5000));
    const offset = typeof source.nextPageToken === 'string' ? decodeToken(source.nextPageToken) : 0;
    if (offset === undefined) return { status: 400, body: jiraError(['The provided next page token is invalid or expired.']) };
    const page = hits.slice(offset, offset + maxResults);
    const isLast = offset + maxResults >= hits.length;
    const fields = source.fields?.filter((field) => field !== 'id');
    return {
      status: 200,
      body: {
        issues: page.map((issue) => (fields && fields.length > 0 ? render(issue, fields) : { id: issue.id })),
        ...(isLast ? {} : { nextPageToken: encodeToken(offset + maxResults) }),
        isLast,
      },
    };
  };

  const searchGet: Handler = (_params, query) =>
    search({
      jql: query.get('jql') ?? undefined,
      fields: listParam(query, 'fields'),
      maxResults: query.get('maxResults') ?? undefined,
      nextPageToken: query.get('nextPageToken') ?? undefined,
      reconcileIssues: listParam(query, 'reconcileIssues')?.map(Number),
    });
  const searchPost: Handler = (_params, _query, body) => search(body as Json);
  const searchRemoved: Handler = () => ({ status: 410, body: fixture('jira-search-legacy-410-response.json') });

  const avatars = (size: string) => ({ '16x16': size, '24x24': size, '32x32': size, '48x48': size });
  const getCurrentUser: Handler = () => ({
    status: 200,
    body: {
      ...author(),
      emailAddress: email,
      avatarUrls: avatars(`${url}/secure/useravatar?avatarId=10122`),
      timeZone: 'Etc/UTC',
      locale: 'en_US',
      groups: { size: 1, items: [] },
      applicationRoles: { size: 1, items: [] },
      expand: 'groups,applicationRoles',
    },
  });

  // Word for word what Jira Cloud answers for an unknown key [obs: tenable/integration-jira-cloud#139, GET /rest/api/3/project/VULN].
  const noProject = (key: string): Answer => ({ status: 404, body: jiraError([`No project could be found with key '${key}'.`]) });
  const isProject = (idOrKey: string) => idOrKey === projectKey || idOrKey === '10000';

  const getProject: Handler = (params) => {
    if (!isProject(params.projectIdOrKey!)) return noProject(params.projectIdOrKey!);
    return {
      status: 200,
      body: {
        expand: 'description,lead,issueTypes,url,projectKeys,permissions,insight',
        self: `${url}/rest/api/3/project/10000`,
        id: '10000',
        key: projectKey,
        name: 'Relay',
        description: '',
        avatarUrls: avatars(`${url}/secure/projectavatar?pid=10000`),
        projectTypeKey: 'software',
        simplified: false,
        style: 'classic',
        isPrivate: false,
        properties: {},
        lead: author(),
        assigneeType: 'UNASSIGNED',
        components: [],
        versions: [],
        issueTypes: issueTypes.map((name, index) => ({
          self: `${url}/rest/api/3/issuetype/${10_001 + index}`,
          id: String(10_001 + index),
          name,
          description: '',
          iconUrl: `${url}/images/icons/issuetypes/task.svg`,
          subtask: false,
          avatarId: 10_318,
          hierarchyLevel: 0,
        })),
      },
    };
  };

  /** GET /mypermissions: `permissions` is required since 2019 (spec's x-changes); unknown keys and projects are refused. */
  const getMyPermissions: Handler = (_params, query) => {
    const keys = listParam(query, 'permissions') ?? [];
    // [inferred] texts of the two 400s; the statuses are the spec's.
    if (keys.length === 0) return { status: 400, body: jiraError(["The 'permissions' query parameter is required."]) };
    const unknown = keys.find((key) => !(key in JIRA_PERMISSIONS));
    if (unknown) return { status: 400, body: jiraError([`The permission key '${unknown}' is invalid.`]) };
    const project = query.get('projectKey') ?? query.get('projectId');
    if (project !== null && !isProject(project)) return noProject(project);
    const permissions = Object.fromEntries(
      keys.map((key) => [key, { ...JIRA_PERMISSIONS[key], key, type: 'PROJECT', havePermission: fake.permissions.has(key) }]),
    );
    return { status: 200, body: { permissions } };
  };

  const routes: Array<{ method: string; pattern: RegExp; operation: string; handle: Handler }> = [
    { method: 'GET', pattern: /^\/rest\/api\/3\/myself$/, operation: 'getCurrentUser', handle: getCurrentUser },
    { method: 'GET', pattern: /^\/rest\/api\/3\/project\/(?<projectIdOrKey>[^/]+)$/, operation: 'getProject', handle: getProject },
    { method: 'GET', pattern: /^\/rest\/api\/3\/mypermissions$/, operation: 'getMyPermissions', handle: getMyPermissions },
    { method: 'POST', pattern: /^\/rest\/api\/3\/issue$/, operation: 'createIssue', handle: createIssue },
    { method: 'GET', pattern: /^\/rest\/api\/3\/issue\/(?<issueIdOrKey>[^/]+)$/, operation: 'getIssue', handle: getIssue },
    {
      method: 'GET',
      pattern: /^\/rest\/api\/3\/issue\/(?<issueIdOrKey>[^/]+)\/transitions$/,
      operation: 'getTransitions',
      handle: getTransitions,
    },
    {
      method: 'POST',
      pattern: /^\/rest\/api\/3\/issue\/(?<issueIdOrKey>[^/]+)\/transitions$/,
      operation: 'doTransition',
      handle: doTransition,
    },
    { method: 'GET', pattern: /^\/rest\/api\/3\/issue\/(?<issueIdOrKey>[^/]+)\/comment$/, operation: 'getComments', handle: getComments },
    { method: 'POST', pattern: /^\/rest\/api\/3\/issue\/(?<issueIdOrKey>[^/]+)\/comment$/, operation: 'addComment', handle: addComment },
    {
      method: 'POST',
      pattern: ATTACHMENTS_PATH,
      operation: 'addAttachment',
      handle: addAttachment,
    },
    { method: 'GET', pattern: /^\/rest\/api\/3\/search\/jql$/, operation: 'searchAndReconsileIssuesUsingJql', handle: searchGet },
    { method: 'POST', pattern: /^\/rest\/api\/3\/search\/jql$/, operation: 'searchAndReconsileIssuesUsingJqlPost', handle: searchPost },
    { method: 'GET', pattern: /^\/rest\/api\/3\/search$/, operation: 'searchForIssuesUsingJql', handle: searchRemoved },
    { method: 'POST', pattern: /^\/rest\/api\/3\/search$/, operation: 'searchForIssuesUsingJqlPost', handle: searchRemoved },
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const target = new URL(req.url ?? '/', url);
    const raw = await readBody(req);
    const record: JiraFakeRequest = {
      receivedAt: Date.now(),
      method: req.method ?? 'GET',
      path: target.pathname,
      query: target.searchParams,
      body: undefined,
      status: 0,
    };
    fake.requests.push(record);
    const answer = (status: number, body?: unknown, headers?: Record<string, string>) => {
      record.status = status;
      if (status >= 400 && !record.refused && !record.fault) record.refused = JSON.stringify(body);
      sendJson(res, status, body, headers);
    };

    const mediaType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (mediaType === 'multipart/form-data') {
      const parts = await readMultipart(raw, String(req.headers['content-type']));
      if (!parts) return answer(400, jiraError(['The multipart/form-data body could not be read.']));
      record.body = { parts };
    } else if (raw.length > 0) {
      try {
        record.body = JSON.parse(raw.toString('utf8'));
      } catch {
        return answer(400, jiraError(['Unexpected character: the request body is not valid JSON.']));
      }
    }
    if (target.pathname.startsWith('/rest/api/2/')) {
      return answer(
        404,
        jiraError([
          "warroom's Jira fake refuses /rest/api/2: jira.js 6 sends string descriptions and comments there; send ADF to /rest/api/3",
        ]),
      );
    }
    // [inferred] Jira Cloud's answer to a wrong e-mail or API token.
    if (req.headers.authorization !== expectedAuth) {
      return answer(401, jiraError(['Client must be authenticated to access this resource.']));
    }
    // Multipart operations sit behind Jira's XSRF protection ("Special headers" in the spec): without
    // the header the request is blocked [doc]; the answer is a 403 "XSRF check failed" [obs:
    // pycontribs/jira#44, jira.js#152]. A body of another type is a 415, as JAX-RS answers [inferred].
    if (record.method === 'POST' && ATTACHMENTS_PATH.test(target.pathname)) {
      const token = String(req.headers['x-atlassian-token'] ?? '').toLowerCase();
      if (token !== 'no-check' && token !== 'nocheck') {
        record.status = 403;
        record.refused = 'XSRF check failed';
        res.writeHead(403, { 'content-type': 'text/plain;charset=UTF-8' }).end('XSRF check failed');
        return;
      }
      if (mediaType !== 'multipart/form-data') {
        return answer(415, jiraError([`Unsupported media type ${mediaType || '(none)'}: attachments are sent as multipart/form-data.`]));
      }
    }
    const check = spec.check({
      method: record.method,
      path: target.pathname,
      query: target.searchParams,
      headers: req.headers,
      body: record.body,
    });
    record.check = check;
    if (!check.ok) return answer(check.status, jiraError([check.reason]));

    const route = routes.find((r) => r.method === record.method && r.pattern.test(target.pathname));
    if (!route) return answer(501, jiraError([`warroom's Jira fake does not implement ${record.method} ${target.pathname}`]));
    record.operation = route.operation;

    const decision = await fake.faults.decide([route.operation, '*']);
    if (decision.kind === 'hang') {
      record.fault = 'hang';
      return; // answered never: stop() closes the socket
    }
    if (decision.kind === 'rateLimit') {
      record.fault = 'rateLimit';
      return answer(429, jiraError(['Rate limit exceeded.']), { 'retry-after': String(decision.retryAfterSeconds) });
    }
    if (decision.kind === 'error') {
      record.fault = 'error';
      return answer(500, jiraError(['Internal server error']));
    }

    const params = route.pattern.exec(target.pathname)?.groups ?? {};
    const result = route.handle(
      Object.fromEntries(Object.entries(params).map(([name, value]) => [name, decodeURIComponent(value)])),
      target.searchParams,
      record.body,
    );
    if (decision.applyThenFail) {
      record.fault = 'applyThenFail';
      return answer(500, jiraError(['Internal server error']));
    }
    if (spec.checked && result.status < 300 && result.body !== undefined) {
      const verdict = spec.checkResponse(route.operation, result.status, result.body);
      if (!verdict.ok) fake.responseProblems.push(verdict.reason);
    }
    return answer(result.status, result.body, result.headers);
  };

  const server = await listenOnLoopback(handle, (err) => errors.push(err));
  url = server.url;
  fake.url = url;
  fake.state.initialStatus = toDo();
  for (const transition of fake.state.transitions) rehost(transition.to, url);
  for (const transition of sampleTransitions) rehost(transition.to, url);
  return fake;
}

const ATTACHMENTS_PATH = /^\/rest\/api\/3\/issue\/(?<issueIdOrKey>[^/]+)\/attachments$/;

/** The parts of a multipart/form-data body (read by undici, as a server would); undefined when it cannot be read. */
async function readMultipart(raw: Buffer, contentType: string): Promise<JiraFakePart[] | undefined> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  } catch {
    return undefined;
  }
  const parts: JiraFakePart[] = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') parts.push({ name, type: 'text/plain', size: Buffer.byteLength(value), text: value });
    else parts.push({ name, filename: value.name, type: value.type, size: value.size, text: await value.text() });
  }
  return parts;
}

/** The sample's example.atlassian.net links, pointed at the fake. */
function rehost(status: JiraStatus, url: string) {
  status.self = status.self.replace('https://example.atlassian.net', url);
  status.iconUrl = status.iconUrl.replace('https://example.atlassian.net', url);
  status.statusCategory.self = status.statusCategory.self.replace('https://example.atlassian.net', url);
}

/** Jira's timestamp format: `2026-03-14T10:02:45.120+0000`. */
function jiraTime(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

/** A query parameter given repeated (`a=1&a=2`, as jira.js sends arrays) or comma-separated. */
function listParam(query: URLSearchParams, name: string): string[] | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  return values
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean);
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeToken(token: string): number | undefined {
  try {
    const offset = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown }).o;
    return typeof offset === 'number' && offset >= 0 ? offset : undefined;
  } catch {
    return undefined;
  }
}

type Clause = (issue: JiraFakeIssue) => boolean;

/**
 * The JQL the fake understands: clauses joined by AND on labels (`=`, `in`), project, key,
 * status and statusCategory (`=`, `!=`), then an optional `ORDER BY created [ASC|DESC]`.
 * Anything else is a 400, so a query the fake cannot judge never passes silently.
 */
export function parseJql(jql: string): { clauses: Clause[]; descending: boolean } | { error: string } {
  const order = /\s+ORDER\s+BY\s+(\w+)(?:\s+(ASC|DESC))?\s*$/i.exec(jql);
  const where = order ? jql.slice(0, order.index) : jql;
  const descending = order ? (order[2] ?? 'ASC').toUpperCase() === 'DESC' : false;
  if (order && !/^(created|key|id)$/i.test(order[1]!)) return { error: `Error in the JQL Query: the fake cannot order by '${order[1]}'.` };
  const clauses: Clause[] = [];
  for (const part of where.split(/\s+AND\s+/i)) {
    const found = /^\s*(\w+)\s*(=|!=|\bin\b)\s*(.+?)\s*$/i.exec(part);
    if (!found) return { error: `Error in the JQL Query: the fake cannot read '${part.trim()}'.` };
    const [, rawField, rawOperator, rawValue] = found as unknown as [string, string, string, string];
    const field = rawField.toLowerCase();
    const operator = rawOperator.toLowerCase();
    const values = operator === 'in' ? listValues(rawValue) : [unquote(rawValue)];
    if (values.some((value) => value === undefined)) return { error: `Error in the JQL Query: the value ${rawValue} is not valid.` };
    const wanted = values as string[];
    let test: Clause;
    switch (field) {
      case 'labels':
        test = (issue) => (issue.fields.labels as string[]).some((label) => wanted.includes(label));
        break;
      case 'project':
        test = (issue) => wanted.some((value) => value.toUpperCase() === issue.fields.project.key || value === issue.fields.project.id);
        break;
      case 'key':
      case 'issuekey':
      case 'id':
        test = (issue) => wanted.some((value) => value.toUpperCase() === issue.key || value === issue.id);
        break;
      case 'status':
        test = (issue) => wanted.some((value) => value.toLowerCase() === String(issue.fields.status.name).toLowerCase());
        break;
      case 'statuscategory':
        test = (issue) =>
          wanted.some((value) =>
            [issue.fields.status.statusCategory.key, issue.fields.status.statusCategory.name.toLowerCase()].includes(value.toLowerCase()),
          );
        break;
      default:
        return { error: `Error in the JQL Query: the fake does not know the field '${rawField}'.` };
    }
    clauses.push(operator === '!=' ? (issue) => !test(issue) : test);
  }
  return { clauses, descending };
}

function unquote(value: string): string | undefined {
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(value) ?? /^'((?:[^'\\]|\\.)*)'$/.exec(value);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  return /^[\w.-]+$/.test(value) ? value : undefined;
}

function listValues(value: string): Array<string | undefined> {
  const inner = /^\((.*)\)$/.exec(value.trim());
  if (!inner) return [undefined];
  return inner[1]!.split(',').map((item) => unquote(item.trim()));
}

const BLOCKS = new Set(['paragraph', 'heading', 'bulletList', 'orderedList', 'codeBlock', 'blockquote', 'rule', 'panel']);
const MARKS = new Set(['strong', 'em', 'code', 'strike', 'underline', 'link', 'textColor', 'subsup']);

/** Enough of the Atlassian Document Format's rules to refuse what Jira refuses (wrong root, empty text, unknown nodes). */
export function isAdfDocument(doc: unknown): boolean {
  if (!doc || typeof doc !== 'object') return false;
  const root = doc as Json;
  return root.type === 'doc' && root.version === 1 && Array.isArray(root.content) && root.content.every(isBlock);
}

function isBlock(node: Json): boolean {
  if (!node || typeof node !== 'object' || !BLOCKS.has(node.type)) return false;
  const content = node.content as unknown;
  switch (node.type) {
    case 'rule':
      return content === undefined;
    case 'paragraph':
    case 'heading':
      if (node.type === 'heading' && !(node.attrs?.level >= 1 && node.attrs?.level <= 6)) return false;
      return content === undefined || (Array.isArray(content) && content.every(isInline));
    case 'codeBlock':
      return content === undefined || (Array.isArray(content) && content.every((n: Json) => n?.type === 'text' && isInline(n) && !n.marks));
    case 'bulletList':
    case 'orderedList':
      return Array.isArray(content) && content.length > 0 && content.every(isListItem);
    default:
      return Array.isArray(content) && content.length > 0 && content.every(isBlock);
  }
}

function isListItem(node: Json): boolean {
  return node?.type === 'listItem' && Array.isArray(node.content) && node.content.length > 0 && node.content.every(isBlock);
}

function isInline(node: Json): boolean {
  if (!node || typeof node !== 'object') return false;
  switch (node.type) {
    case 'text':
      return (
        typeof node.text === 'string' &&
        node.text.length > 0 &&
        (node.marks === undefined || (Array.isArray(node.marks) && node.marks.every(isMark)))
      );
    case 'hardBreak':
      return true;
    case 'mention':
      return typeof node.attrs?.id === 'string';
    case 'emoji':
      return typeof node.attrs?.shortName === 'string';
    case 'inlineCard':
      return typeof node.attrs?.url === 'string';
    default:
      return false;
  }
}

function isMark(mark: Json): boolean {
  if (!mark || !MARKS.has(mark.type)) return false;
  if (mark.type === 'link') return typeof mark.attrs?.href === 'string' && mark.attrs.href.length > 0;
  return true;
}
