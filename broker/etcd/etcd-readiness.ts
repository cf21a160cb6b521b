// Whether this replica can reach etcd, for /readyz: a linearizable read (ping) every
// interval. A replica that loses etcd reports not ready (its writes fail with
// PLX_BROKER_ETCD_UNAVAILABLE by themselves) and becomes ready again at the first answer.
import type { Logger } from 'pino';
import type { EtcdClient } from './etcd-client.ts';

export class EtcdReadiness {
  readonly #client: EtcdClient;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  #ok = true;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: { client: EtcdClient; intervalMs: number; timeoutMs: number; logger: Logger }) {
    this.#client = o.client;
    this.#intervalMs = o.intervalMs;
    this.#timeoutMs = o.timeoutMs;
    this.#log = o.logger;
  }

  get ok(): boolean {
    return this.#ok;
  }

  start(): void {
    const tick = async () => {
      try {
        await this.#client.ping(this.#timeoutMs);
        if (!this.#ok) this.#log.info('etcd answers again: ready');
        this.#ok = true;
      } catch (err) {
        if (this.#ok) this.#log.error({ err }, 'etcd unreachable: not ready, writes refused');
        this.#ok = false;
      }
      if (!this.#stopped) this.#timer = setTimeout(tick, this.#intervalMs);
    };
    this.#timer = setTimeout(tick, this.#intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
