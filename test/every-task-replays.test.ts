import { describe } from 'vitest';
import { closeTheLoopScenarios } from './close-the-loop.scenarios.js';

// No workflow cache: every workflow task rebuilds the run by replaying its whole history, so a
// non-deterministic path fails here even where no recorded history covers it (issue 5, scenario 8).
describe('with no workflow cache (every task replays)', () => {
  closeTheLoopScenarios({ maxCachedWorkflows: 0 });
});
