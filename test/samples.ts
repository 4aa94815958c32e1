import { readFileSync } from 'node:fs';

/** A vendor's sample body from test/fixtures, as bytes. */
export function fixture(name: string): Buffer {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
}

/** A sample from test/fixtures, parsed. */
export function fixtureJson<T = Record<string, any>>(name: string): T {
  return JSON.parse(fixture(name).toString('utf8')) as T;
}
