// Publishes this cluster's advertisement: zone, region, probe URL, proxy URL and the
// smoothed RTT row. Level-based: every `intervalMs` the desired advertisement is compared
// with what the broker holds (the catalog view's copy), and sent only when they differ
// materially (another field or cluster set, or an RTT that moved by more than 20 % and
// 1 ms), so a steady clusterset costs no writes and a whole-record PUT by someone else
// (the access proxy at start-up) is repaired on the next check. Ranking never waits for it: each agent ranks with its own
// probes; the advertised rows are for other data planes and for operators.
import type { Logger } from 'pino';
import type { ClusterAdvertisement, ClusterAdvertisementInput } from '../../broker/api/advertisement.ts';
import type { Timers } from '../timing/clock.ts';
import type { LocalCluster } from './topology.ts';

export interface AdvertisementPublisher {
  putAdvertisement(body: ClusterAdvertisementInput): Promise<ClusterAdvertisement>;
}

export interface AdvertiserOptions {
  readonly broker: AdvertisementPublisher;
  readonly local: LocalCluster;
  readonly probeUrl: string | undefined;
  readonly proxyUrl?: (() => string | undefined) | undefined;
  /** This cluster's network and gateway address (agent/network); absent = the default network, no gateway. */
  readonly network?: { readonly network?: string | undefined; readonly gateway?: string | undefined } | undefined;
  /** What the broker holds now (the catalog view's copy of this cluster's advertisement). */
  readonly current: () => ClusterAdvertisementInput | undefined;
  readonly latencies: () => Record<string, number>;
  readonly timers: Timers;
  readonly intervalMs: number;
  readonly logger: Logger;
}

/** RTTs to 0.1 ms: the wire does not need more. */
function rounded(latencies: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(latencies).sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, ms]) => [c, Math.round(ms * 10) / 10]));
}

export function materiallyDifferent(a: ClusterAdvertisementInput | undefined, b: ClusterAdvertisementInput): boolean {
  if (!a || a.zone !== b.zone || a.region !== b.region || a.probeUrl !== b.probeUrl || a.proxyUrl !== b.proxyUrl) return true;
  if (a.network !== b.network || a.gateway !== b.gateway) return true;
  const la = a.latencies ?? {};
  const lb = b.latencies ?? {};
  const keys = Object.keys(lb);
  if (keys.length !== Object.keys(la).length || keys.some((k) => !(k in la))) return true;
  return keys.some((k) => Math.abs(la[k]! - lb[k]!) > Math.max(1, 0.2 * la[k]!));
}

export class Advertiser {
  readonly #o: AdvertiserOptions;
  #published: ClusterAdvertisementInput | undefined;
  #handle: unknown;
  #running = false;

  constructor(o: AdvertiserOptions) {
    this.#o = o;
  }

  desired(): ClusterAdvertisementInput {
    const { local, probeUrl } = this.#o;
    // The access proxy publishes its own URL; keep whatever the broker holds when not told.
    const proxyUrl = this.#o.proxyUrl ? this.#o.proxyUrl() : this.#o.current()?.proxyUrl;
    return {
      cluster: local.cluster,
      ...(local.zone ? { zone: local.zone } : {}),
      ...(local.region ? { region: local.region } : {}),
      ...(probeUrl ? { probeUrl } : {}),
      ...(proxyUrl ? { proxyUrl } : {}),
      ...(this.#o.network?.network ? { network: this.#o.network.network } : {}),
      ...(this.#o.network?.gateway ? { gateway: this.#o.network.gateway } : {}),
      latencies: rounded(this.#o.latencies()),
    };
  }

  /** Sends the advertisement if it changed materially; false when nothing was sent. */
  async publish(): Promise<boolean> {
    const next = this.desired();
    if (!materiallyDifferent(this.#o.current() ?? this.#published, next)) return false;
    try {
      await this.#o.broker.putAdvertisement(next);
      this.#published = next;
      return true;
    } catch (err) {
      this.#o.logger.warn({ err }, 'cannot publish the advertisement; retrying');
      return false;
    }
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const loop = () => {
      if (!this.#running) return;
      void this.publish().finally(() => {
        if (this.#running) this.#handle = this.#o.timers.setTimeout(loop, this.#o.intervalMs);
      });
    };
    loop();
  }

  stop(): void {
    this.#running = false;
    if (this.#handle !== undefined) this.#o.timers.clearTimeout(this.#handle);
  }
}
