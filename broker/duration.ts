// Human durations for CLI flags: "90s", "15m", "1h", "7d", or combinations like "1h30m".
import { BrokerError } from './errors.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseDurationSeconds(s: string, flag: string): number {
  const text = s.trim();
  if (!/^(\d+[smhd])+$/.test(text)) {
    throw new BrokerError('PLX_BROKER_VALIDATION', `${flag} "${s}" must be a duration such as 90s, 15m, 1h, 7d or 1h30m`);
  }
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhd])/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return total;
}
