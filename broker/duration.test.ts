import { describe, expect, it } from 'vitest';
import { parseDurationSeconds } from './duration.ts';

describe('parseDurationSeconds', () => {
  it.each([['90s', 90], ['15m', 900], ['1h', 3600], ['7d', 604800], ['1h30m', 5400]])('%s = %d s', (s, n) => {
    expect(parseDurationSeconds(s, '--ttl')).toBe(n);
  });
  it.each(['', '1', 'h', '1w', '-1h', '1.5h'])('rejects %j', (s) => {
    expect(() => parseDurationSeconds(s, '--ttl')).toThrow(expect.objectContaining({ code: 'PLX_BROKER_VALIDATION' }));
  });
});
