/**
 * How warroom knows its own writes when a tool sends them back (an echo): shared by the source
 * that ignores them and the activity that makes them, so neither imports the other. Pure.
 */

/** warroom's own posts to VictorOps carry this monitoring_tool; when they echo back they change nothing. */
export const OWN_MONITORING_TOOL = 'warroom';
