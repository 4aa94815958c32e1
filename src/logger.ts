import pino, { type DestinationStream, type Logger } from 'pino';

/** JSON logs. Headers and bodies are never logged; these paths are redacted in case one slips in. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'warroom' },
      redact: {
        paths: [
          'headers.authorization',
          'headers["x-pagerduty-signature"]',
          'headers["x-victorops-signature"]',
          'headers["x-slack-signature"]',
          '*.token',
          '*.secret',
          '*.apiKey',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
