import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../src/worker.js';

const dir = new URL('./histories/', import.meta.url);
const files = readdirSync(dir).filter((name) => name.endsWith('.json'));

describe('recorded workflow histories', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it('replays every recorded history against the current workflow code without non-determinism', async () => {
    const workflowBundle = await bundleWorkflows();
    const histories = files.map((name) => ({ workflowId: name, history: JSON.parse(readFileSync(new URL(name, dir), 'utf8')) }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
