// An undici dispatcher whose TLS identity can change while requests are in flight. New
// requests go to an Agent built for the newest identity; the Agent it replaces is closed
// gracefully (undici's close() waits for its in-flight requests, long watch streams
// included), never destroyed, so a rotation drops no request and no open stream.
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';

/** TLS material of the cluster identity: client certificate, key and the roots to trust. */
export interface ClientTls {
  readonly certPem: string;
  readonly keyPem: string;
  readonly trustBundle: string;
}

export class RotatingDispatcher {
  #current: Agent;
  readonly #retiring = new Set<Promise<void>>();

  constructor(tls: ClientTls) {
    this.#current = RotatingDispatcher.#agentFor(tls);
  }

  /** The dispatcher for a new request: always the newest identity's. */
  get current(): Dispatcher {
    return this.#current;
  }

  /** New requests use `tls` from now on; the old Agent closes once its requests finish. */
  use(tls: ClientTls): void {
    const old = this.#current;
    this.#current = RotatingDispatcher.#agentFor(tls);
    const closing = old.close().catch(() => undefined);
    this.#retiring.add(closing);
    void closing.finally(() => this.#retiring.delete(closing));
  }

  /** How many replaced Agents still wait for in-flight requests (for tests and logs). */
  get retiring(): number {
    return this.#retiring.size;
  }

  async close(): Promise<void> {
    await Promise.all([this.#current.close(), ...this.#retiring]);
  }

  static #agentFor(tls: ClientTls): Agent {
    return new Agent({
      connect: { minVersion: 'TLSv1.3', ca: tls.trustBundle, rejectUnauthorized: true, cert: tls.certPem, key: tls.keyPem },
    });
  }
}
