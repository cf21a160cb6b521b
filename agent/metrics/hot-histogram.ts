// A histogram without labels for hot paths (the DNS server answers ~90k queries a second):
// observe() is a bound scan over a Float64Array and two additions, with no allocation and
// no label hashing, where prom-client's Histogram.observe costs ~300 ns. It registers in a
// prom-client Registry as a custom metric and renders the usual _bucket/_sum/_count series.
import type { Registry } from 'prom-client';

export interface HotHistogramOptions {
  readonly name: string;
  readonly help: string;
  /** Upper bounds, ascending; +Inf is added. */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

interface Sample { readonly metricName: string; readonly labels: Record<string, string>; readonly value: number }

export class HotHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: Float64Array;
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(o: HotHistogramOptions) {
    for (let i = 1; i < o.buckets.length; i++) if (!(o.buckets[i]! > o.buckets[i - 1]!)) throw new RangeError('buckets must ascend');
    this.name = o.name;
    this.help = o.help;
    this.#bounds = Float64Array.from(o.buckets);
    this.#counts = new Float64Array(o.buckets.length + 1);
    for (const r of o.registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(value: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  /** What the registry renders (prom-client's metric shape). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      cumulative += this.#counts[i]!;
      const le = i < this.#bounds.length ? String(this.#bounds[i]) : '+Inf';
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.#sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.#count });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }
}
