import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentKey, workflowIdFor } from '../src/shared/ids.js';
import { acknowledgeUpdate, incidentQuery } from '../src/shared/messages.js';
import { eventually } from './eventually.js';
import { startHarness, uniqueId, type Harness } from './harness.js';

// Signals and updates can come from any service or from `temporal workflow signal`, not only from
// warroom's API: what does not have the documented shape changes nothing and goes on the record.

const API_TOKEN = 'api-token-for-message-tests';
const api = { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` };
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { WARROOM_API_TOKEN: API_TOKEN } });
});

afterAll(async () => {
  await h?.stop();
});

async function openIncident() {
  const id = uniqueId('msg-');
  const key = incidentKey('api', id);
  expect(await h.post('/incidents', JSON.stringify({ id, title: 'Checkout errors' }), api)).toMatchObject({ status: 202 });
  const handle = h.client.workflow.getHandle(workflowIdFor(key));
  await eventually(`${key} opened`, async () => (await handle.query(incidentQuery)).steps.timelinePost?.status === 'skipped');
  return { key, handle };
}

describe('messages from other services', () => {
  it('records a malformed signal as ignored, with why, and changes nothing', async () => {
    const { key, handle } = await openIncident();
    // As `temporal workflow signal --name resolve --input '"garbage"'` sends it.
    await handle.signal('resolve', 'garbage');
    await handle.signal('acknowledge', { by: 5 });
    await handle.signal('retry', null);
    await handle.signal('incidentEvent', { key, kind: 'resolve' });
    const state = await eventually(`${key} records four ignored signals`, async () => {
      const now = await handle.query(incidentQuery);
      return now.timeline.filter((entry) => entry.outcome === 'ignored').length === 4 && now;
    });
    expect(state).toMatchObject({ status: 'triggered' });
    expect(state.acknowledgedBy).toBeUndefined();
    expect(state.timeline.filter((entry) => entry.outcome === 'ignored')).toEqual([
      expect.objectContaining({
        actor: 'signal',
        what: 'resolve signal',
        detail: expect.stringMatching(/^malformed: .*expected object, received string/),
      }),
      expect.objectContaining({ actor: 'signal', what: 'acknowledge signal', detail: expect.stringMatching(/^malformed: by: /) }),
      expect.objectContaining({ actor: 'signal', what: 'retry signal', detail: expect.stringMatching(/^malformed: /) }),
      expect.objectContaining({ actor: 'signal', what: 'incidentEvent signal', detail: expect.stringMatching(/^malformed: /) }),
    ]);

    // A well-formed signal still acts, and names who sent it.
    await handle.signal('resolve', { by: 'deploy-bot', note: 'rolled back', via: 'deployer' });
    expect(await handle.result()).toMatchObject({ status: 'resolved', resolvedBy: 'deploy-bot' });
    const final = await h.state(key);
    expect(final.timeline).toContainEqual(
      expect.objectContaining({ what: 'resolve from deployer', actor: 'deploy-bot', outcome: 'ok', detail: 'rolled back' }),
    );
  });

  it('records a refused signal as ignored (acknowledge twice, retry with nothing failed)', async () => {
    const { handle } = await openIncident();
    await handle.signal('acknowledge', { by: 'ana' });
    await handle.signal('acknowledge', { by: 'bo' });
    await handle.signal('retry', { by: 'ops' });
    const state = await eventually('both refusals recorded', async () => {
      const now = await handle.query(incidentQuery);
      return now.timeline.filter((entry) => entry.outcome === 'ignored').length === 2 && now;
    });
    expect(state.acknowledgedBy).toBe('ana');
    expect(state.timeline.filter((entry) => entry.outcome === 'ignored')).toEqual([
      expect.objectContaining({ actor: 'bo', what: 'acknowledge signal', detail: 'already acknowledged' }),
      expect.objectContaining({ actor: 'ops', what: 'retry failed steps', detail: 'no step has failed' }),
    ]);
  });

  it('rejects a malformed or refused update with the reason: nothing in the history, nothing changed', async () => {
    const { handle } = await openIncident();
    const reason = async (payload: unknown) => {
      try {
        await handle.executeUpdate(acknowledgeUpdate, { args: [payload as never] });
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
        return (err as WorkflowUpdateFailedError).cause?.message;
      }
    };
    expect(await reason('garbage')).toMatch(/^malformed: .*expected object, received string/);
    expect(await reason({ by: '' })).toMatch(/^malformed: by: /);
    expect(await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'ana', via: 'pager-bot' }] })).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: 'ana',
    });
    expect(await reason({ by: 'bo' })).toBe('already acknowledged');
    const history = await handle.fetchHistory();
    const accepted = (history.events ?? []).filter((event) => event.workflowExecutionUpdateAcceptedEventAttributes);
    expect(accepted).toHaveLength(1);
    const state = await handle.query(incidentQuery);
    expect(state.timeline.filter((entry) => entry.what.startsWith('acknowledge'))).toEqual([
      expect.objectContaining({ what: 'acknowledge from pager-bot', actor: 'ana', outcome: 'ok' }),
    ]);
  });
});
