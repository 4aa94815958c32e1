import type { ActivityOptions } from '@temporalio/workflow';

/** Vendor calls: bounded attempts, backing off to a minute, for up to half an hour in all. */
export const vendorCall = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['NonRetryableVendorError'],
  },
} as const satisfies ActivityOptions;
