import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createChecker, loadSpec } from './fakes/openapi.js';

const jira = loadSpec('jira-cloud-platform-v3.openapi.json');
const json = { 'content-type': 'application/json' };
const sample = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

describe.skipIf(!jira.checked)('the OpenAPI request checker, on the Jira spec', () => {
  it('accepts a create-issue request the real Jira accepts and names its operation', () => {
    expect(
      jira.check({ method: 'POST', path: '/rest/api/3/issue', headers: json, body: { fields: { summary: 'x', labels: ['a'] } } }),
    ).toEqual({ ok: true, operationId: 'createIssue', pathTemplate: '/rest/api/3/issue', pathParams: {} });
  });

  it('answers 404 for a path Jira does not have', () => {
    expect(jira.check({ method: 'POST', path: '/rest/api/3/issues', headers: json, body: {} })).toMatchObject({ ok: false, status: 404 });
  });

  it('answers 405 for a method the path does not take, even when a less specific template would', () => {
    expect(jira.check({ method: 'PATCH', path: '/rest/api/3/issue/RLY-1' })).toMatchObject({ ok: false, status: 405 });
    // `/issue/bulkfetch` is POST only; GET must not fall through to `/issue/{issueIdOrKey}`.
    expect(jira.check({ method: 'GET', path: '/rest/api/3/issue/bulkfetch' })).toMatchObject({ ok: false, status: 405 });
  });

  it('answers 400 naming the missing required body field', () => {
    const result = jira.check({
      method: 'POST',
      path: '/rest/api/3/issueLink',
      headers: json,
      body: { inwardIssue: { key: 'RLY-1' }, outwardIssue: { key: 'RLY-2' } },
    });
    expect(result).toEqual({ ok: false, status: 400, reason: expect.stringContaining("required property 'type'") });
  });

  it('answers 400 for a property the body schema forbids and for a malformed query parameter', () => {
    expect(jira.check({ method: 'POST', path: '/rest/api/3/search/jql', headers: json, body: { jql: 'labels = "x"', total: 1 } })).toEqual({
      ok: false,
      status: 400,
      reason: expect.stringContaining("unexpected property 'total'"),
    });
    expect(jira.check({ method: 'GET', path: '/rest/api/3/search/jql', query: new URLSearchParams('jql=x&maxResults=ten') })).toEqual({
      ok: false,
      status: 400,
      reason: expect.stringContaining('maxResults'),
    });
  });

  it('matches path templates and decodes their parameters', () => {
    expect(
      jira.check({ method: 'POST', path: '/rest/api/3/issue/RLY-7/transitions', headers: json, body: { transition: { id: '31' } } }),
    ).toMatchObject({ ok: true, operationId: 'doTransition', pathParams: { issueIdOrKey: 'RLY-7' } });
  });

  it('finds the vendor samples valid against the documented response schemas', () => {
    expect(jira.checkResponse('createIssue', 201, sample('jira-create-issue-response-201.json'))).toEqual({ ok: true });
    expect(jira.checkResponse('searchAndReconsileIssuesUsingJql', 200, sample('jira-search-jql-response.json'))).toEqual({ ok: true });
    expect(jira.checkResponse('getTransitions', 200, sample('jira-get-transitions-response.json'))).toEqual({ ok: true });
    expect(jira.checkResponse('addComment', 201, sample('jira-add-comment-response-201.json'))).toEqual({ ok: true });
    expect(
      jira.check({ method: 'POST', path: '/rest/api/3/issue', headers: json, body: sample('jira-create-issue-request.json') }),
    ).toMatchObject({ ok: true });
  });

  it('ignores required readOnly properties in requests and checks documented responses', () => {
    expect(jira.checkResponse('createIssue', 201, { id: '10000', key: 'RLY-1', self: 'http://x/rest/api/3/issue/10000' })).toEqual({
      ok: true,
    });
    expect(jira.checkResponse('createIssue', 201, { id: '10000', key: 'RLY-1', surprise: true })).toMatchObject({ ok: false });
  });
});

describe('the OpenAPI request checker, on a small document', () => {
  const spec = createChecker({
    openapi: '3.0.3',
    servers: [{ url: 'https://events.example.com/v2' }],
    paths: {
      '/things/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          operationId: 'createThingNote',
          parameters: [
            { name: 'From', in: 'header', required: true, schema: { type: 'string', format: 'email' } },
            { name: 'Accept', in: 'header', required: true, schema: { type: 'string' } },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Note' } } },
          },
        },
      },
    },
    components: {
      schemas: {
        Note: {
          type: 'object',
          required: ['id', 'content'],
          properties: { id: { type: 'string', readOnly: true }, content: { type: 'string', nullable: true } },
        },
      },
    },
  });
  const good = {
    method: 'POST',
    path: '/v2/things/T1',
    headers: { 'Content-Type': 'application/json', from: 'a@example.com' },
    body: { content: 'x' },
  };

  it('honours the server base path, path-level parameters and header parameters (ignoring Accept)', () => {
    expect(spec.check(good)).toMatchObject({ ok: true, operationId: 'createThingNote', pathParams: { id: 'T1' } });
    expect(spec.check({ ...good, path: '/things/T1' })).toMatchObject({ ok: false, status: 404 });
    expect(spec.check({ ...good, headers: { 'content-type': 'application/json' } })).toEqual({
      ok: false,
      status: 400,
      reason: "missing required header parameter 'from'",
    });
    expect(spec.check({ ...good, headers: { ...good.headers, from: 'not-an-email' } })).toMatchObject({ ok: false, status: 400 });
  });

  it('requires the body when the spec does, supports nullable, and refuses a wrong content type', () => {
    expect(spec.check({ ...good, body: undefined })).toEqual({ ok: false, status: 400, reason: 'request body is required' });
    expect(spec.check({ ...good, body: { content: null } })).toMatchObject({ ok: true });
    expect(spec.check({ ...good, body: {} })).toMatchObject({ ok: false, status: 400 });
    expect(spec.check({ ...good, headers: { ...good.headers, 'content-type': 'text/plain' } })).toMatchObject({ ok: false, status: 400 });
  });
});
