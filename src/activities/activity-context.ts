import { Context } from '@temporalio/activity';

/**
 * The running activity's context (attempt, ids, cancellation signal, logger), read through the
 * SDK's public API; undefined when a step is called directly, outside a worker (tests, scripts).
 */
export function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    // Context.current() throws outside an activity: that is the one case answered here.
    return undefined;
  }
}
