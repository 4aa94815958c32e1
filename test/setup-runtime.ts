import { DefaultLogger, Runtime } from '@temporalio/worker';

// Worker lifecycle chatter at INFO drowns test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });
