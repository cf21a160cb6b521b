// Exponentially weighted moving average of round-trip times: one noisy sample moves the
// estimate by `alpha` of the difference, so a single slow probe does not reorder answers.

export interface EwmaOptions {
  /** Weight of the newest sample, in (0, 1]. */
  readonly alpha: number;
}

export class Ewma {
  readonly #alpha: number;
  #value: number | undefined;

  constructor(o: EwmaOptions) {
    if (!(o.alpha > 0 && o.alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], not ${o.alpha}`);
    this.#alpha = o.alpha;
  }

  /** undefined until the first sample. */
  get value(): number | undefined {
    return this.#value;
  }

  /** The first sample is taken as is; later ones are blended in. */
  add(sample: number): number {
    this.#value = this.#value === undefined ? sample : this.#value + this.#alpha * (sample - this.#value);
    return this.#value;
  }

  reset(): void {
    this.#value = undefined;
  }
}
