// bench:rotation's arithmetic over timestamps: per-bucket peaks and a one-line histogram.

/** Sum of `weights` (default 1 each) per `bucketMs` bucket of `times`; the largest sum. */
export function peakPerBucket(times: readonly number[], bucketMs: number, weights?: readonly number[]): number {
  const sums = new Map<number, number>();
  times.forEach((t, i) => {
    const b = Math.floor(t / bucketMs);
    sums.set(b, (sums.get(b) ?? 0) + (weights?.[i] ?? 1));
  });
  return Math.max(0, ...sums.values());
}

/** `+0s 3 ▏ +10s 41 ███ …` over offsets ≥ 0 (ms), empty buckets included, bars scaled to 20. */
export function histogram(offsetsMs: readonly number[], bucketMs: number): string {
  if (offsetsMs.length === 0) return '(none)';
  const counts: number[] = [];
  for (const t of offsetsMs) {
    const b = Math.max(0, Math.floor(t / bucketMs));
    counts[b] = (counts[b] ?? 0) + 1;
  }
  const max = Math.max(...counts.map((c) => c ?? 0));
  const parts = Array.from(counts, (c = 0, b) => `+${(b * bucketMs) / 1000}s ${c} ${'█'.repeat(Math.round((c / max) * 20)) || '▏'}`);
  return parts.join(' · ');
}
