import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../src/worker.js';

const dir = new URL('./histories/', import.meta.url);
const files = readdirSync(dir).filter((name) => name.endsWith('.json'));

describe('recorded workflow histories', () => {
  const histories = files.map((name) => ({ name, text: readFileSync(new URL(name, dir), 'utf8') }));

  it('has histories of both workflow types, from every version: 0.1 before and after close-the-loop, core-v2, and the postmortem', () => {
    expect(files.length).toBeGreaterThanOrEqual(26);
    const typeOf = (text: string) =>
      (JSON.parse(text) as { events: Array<{ workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }> }).events[0]
        ?.workflowExecutionStartedEventAttributes?.workflowType?.name;
    expect(new Set(histories.map((history) => typeOf(history.text)))).toEqual(new Set(['incidentWorkflow', 'statusPageWorkflow']));
    const incidents = histories.filter((history) => typeOf(history.text) === 'incidentWorkflow');
    const patchesOf = (text: string) =>
      (
        JSON.parse(text) as {
          events: Array<{
            markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: Array<{ data?: string }> }> };
          }>;
        }
      ).events
        .filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_patch')
        .map(
          (event) =>
            JSON.parse(
              Buffer.from(event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data ?? '', 'base64').toString(
                'utf8',
              ),
            ).id,
        );
    const v2 = incidents.filter((history) => patchesOf(history.text).includes('core-v2'));
    const closeLoop = incidents.filter((history) => !v2.includes(history) && patchesOf(history.text).includes('close-the-loop'));
    expect(v2.length).toBeGreaterThanOrEqual(11);
    // Close-outs with the postmortem step (issue 12); the core-v2 histories before it replay without it.
    expect(v2.filter((history) => patchesOf(history.text).includes('postmortem-v1')).length).toBeGreaterThanOrEqual(1);
    expect(closeLoop.length).toBeGreaterThanOrEqual(5);
    expect(incidents.length - v2.length - closeLoop.length).toBeGreaterThanOrEqual(6);
  });

  it('replays every recorded history against the current workflow code without non-determinism', async () => {
    const workflowBundle = await bundleWorkflows();
    const failures: string[] = [];
    const parsed = histories.map((history) => ({ workflowId: history.name, history: JSON.parse(history.text) }));
    for await (const result of Worker.runReplayHistories({ workflowBundle }, parsed)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
