import { describe, expect, it } from 'vitest';
import { defaultTitle, prefix, truncate } from '../src/shared/text.js';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const segmentsOf = (text: string) => [...graphemes.segment(text)].map(({ segment }) => segment);
/** No lone surrogate: half an emoji, which Slack, Jira and JSON consumers show as garbage. */
const isWellFormed = (text: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

const FAMILY = '👨‍👩‍👧‍👦'; // four people joined by ZWJs: 11 UTF-16 units, one grapheme
const FRANCE = '🇫🇷'; // two regional indicators: 4 units
const GERMANY = '🇩🇪';
const THUMB = '👍🏽'; // emoji and skin-tone modifier: 4 units
const E_ACUTE = 'e\u0301'; // e and a combining acute accent: 2 units

/** Texts mixing every kind of grapheme that a code-unit or code-point cut would break. */
const SAMPLES = [
  'checkout-api: 5xx rate above 5%',
  '😀😀😀😀',
  `x${FAMILY}y${FAMILY}`,
  `${FRANCE}${GERMANY}🇮🇹🇯🇵`,
  `café ${E_ACUTE}${E_ACUTE} ${THUMB}${THUMB} naïve`,
  `a😀b${FAMILY}${FRANCE}${E_ACUTE}${THUMB}z`,
];

describe('truncate', () => {
  it('returns text that fits unchanged, up to exactly max units', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abc', 10)).toBe('abc');
    expect(truncate('', 0)).toBe('');
    expect(truncate(FAMILY, FAMILY.length)).toBe(FAMILY);
  });

  it('cuts with an ellipsis that counts towards max', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abcdef', 5)).toBe('abcd…');
    expect(truncate('abcdef', 1)).toBe('…');
  });

  it('answers an empty string for a max of zero or less', () => {
    expect(truncate('abc', 0)).toBe('');
    expect(truncate('abc', -5)).toBe('');
  });

  it('never splits a surrogate pair', () => {
    expect(truncate('😀😀😀', 4)).toBe('😀…');
    expect(truncate('😀😀😀', 3)).toBe('😀…');
    expect(truncate('a😀b', 3)).toBe('a…');
    expect(truncate('a😀b', 2)).toBe('a…');
  });

  it('never splits a ZWJ family emoji into its people', () => {
    expect(truncate(`x${FAMILY}yz`, 13)).toBe(`x${FAMILY}…`);
    expect(truncate(`x${FAMILY}yz`, 12)).toBe('x…');
    expect(truncate(`x${FAMILY}yz`, 3)).toBe('x…');
  });

  it('never splits a flag into its regional indicators', () => {
    expect(truncate(`${FRANCE}${GERMANY}🇮🇹`, 7)).toBe(`${FRANCE}…`);
    expect(truncate(`${FRANCE}${GERMANY}🇮🇹`, 9)).toBe(`${FRANCE}${GERMANY}…`);
  });

  it('never drops a combining accent or a skin tone from its letter', () => {
    expect(truncate(`caf${E_ACUTE}!`, 5)).toBe('caf…');
    expect(truncate(`ok${THUMB}!`, 5)).toBe('ok…');
    expect(truncate(`ok${THUMB}!!`, 7)).toBe(`ok${THUMB}…`);
  });

  it('keeps every result within max, well formed, and a whole-grapheme start of the text', () => {
    for (const text of SAMPLES) {
      for (let max = 0; max <= text.length + 1; max += 1) {
        const out = truncate(text, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(isWellFormed(out)).toBe(true);
        if (out === text) continue;
        expect(out === '' || out.endsWith('…')).toBe(true);
        const kept = segmentsOf(out.replace(/…$/, ''));
        expect(segmentsOf(text).slice(0, kept.length)).toEqual(kept);
        // As much as fits: one more grapheme would not.
        const next = segmentsOf(text)[kept.length] ?? '';
        if (max > 0) expect(kept.join('').length + next.length).toBeGreaterThan(max - 1);
      }
    }
  });
});

describe('prefix', () => {
  it('cuts without an ellipsis, to as many whole graphemes as fit', () => {
    expect(prefix('abcdef', 4)).toBe('abcd');
    expect(prefix('abc', 3)).toBe('abc');
    expect(prefix('abc', 10)).toBe('abc');
    expect(prefix(`a😀${FAMILY}`, 3)).toBe('a😀');
    expect(prefix(`a😀${FAMILY}`, 13)).toBe(`a😀`);
    expect(prefix(`a😀${FAMILY}`, 14)).toBe(`a😀${FAMILY}`);
    expect(prefix(`${FRANCE}${GERMANY}`, 6)).toBe(FRANCE);
    expect(prefix(`caf${E_ACUTE}`, 4)).toBe('caf');
  });

  it('answers an empty string for a max of zero or less, or a first grapheme too long', () => {
    expect(prefix('abc', 0)).toBe('');
    expect(prefix('abc', -1)).toBe('');
    expect(prefix(FAMILY, 10)).toBe('');
  });

  it('keeps every result within max, well formed, and a whole-grapheme start of the text', () => {
    for (const text of SAMPLES) {
      for (let max = 0; max <= text.length + 1; max += 1) {
        const out = prefix(text, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(isWellFormed(out)).toBe(true);
        const kept = segmentsOf(out);
        expect(segmentsOf(text).slice(0, kept.length)).toEqual(kept);
      }
    }
  });
});

describe('defaultTitle', () => {
  it('names the incident by its source and external id', () => {
    expect(defaultTitle({ source: 'pagerduty', externalId: 'Q1ABC' })).toBe('pagerduty incident Q1ABC');
    expect(defaultTitle({ source: 'victorops', externalId: '42' })).toBe('victorops incident 42');
  });
});
