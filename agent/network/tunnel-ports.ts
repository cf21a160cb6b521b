// Allocation of the local gateway's listen ports, one per (source cluster, namespace,
// service, protocol, port). Stable across restarts in two ways: the published tunnel table
// seeds the allocator at start (what was allocated stays allocated), and a new key's first
// choice is derived from its hash, so even a lost table mostly lands on the same ports.
// Collision-free by construction (one owner per port; linear probing from the hashed
// slot) and bounded by the configured range. In memory: one allocator per agent, shared by
// every import reconcile (the work queue serialises a key, not the keys among themselves,
// but JavaScript runs each assign() to completion).
import { createHash } from 'node:crypto';

export interface PortRange {
  readonly min: number;
  readonly max: number;
}

export interface TunnelPortAssignment {
  /** Allocated listen port per key; a key missing here did not fit in the range. */
  readonly ports: ReadonlyMap<string, number>;
  /** Keys that got no port (range exhausted). */
  readonly exhausted: readonly string[];
}

export class TunnelPorts {
  readonly #range: PortRange;
  readonly #byPort = new Map<number, string>();
  readonly #byKey = new Map<string, number>();
  /** Which import (namespace/name) holds which keys, so an import releases only its own. */
  readonly #owned = new Map<string, Set<string>>();
  readonly #keyOwner = new Map<string, string>();

  constructor(range: PortRange) {
    if (!(Number.isInteger(range.min) && Number.isInteger(range.max) && range.min >= 1 && range.max <= 65535 && range.min <= range.max)) {
      throw new RangeError(`tunnel port range ${range.min}-${range.max} is not within 1-65535`);
    }
    this.#range = range;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** First choice of a key: a hash of it into the range. */
  preferredPort(key: string): number {
    const span = this.#range.max - this.#range.min + 1;
    const h = createHash('sha256').update(key).digest().readUInt32BE(0);
    return this.#range.min + (h % span);
  }

  /** Takes over allocations made before a restart (ports outside the range or taken twice are dropped). */
  seed(owner: string, key: string, port: number): boolean {
    if (port < this.#range.min || port > this.#range.max || this.#byPort.has(port) || this.#byKey.has(key)) return false;
    this.#bind(owner, key, port);
    return true;
  }

  /**
   * The ports of every key `owner` (an import, namespace/name) wants now: kept where
   * already allocated, new ones at the hashed slot or the next free one; keys it no longer
   * wants are released.
   */
  assign(owner: string, keys: readonly string[]): TunnelPortAssignment {
    const wanted = new Set(keys);
    for (const k of this.#owned.get(owner) ?? []) if (!wanted.has(k)) this.#release(k);
    const ports = new Map<string, number>();
    const exhausted: string[] = [];
    for (const key of [...wanted].sort()) {
      const held = this.#byKey.get(key);
      if (held !== undefined) {
        // A key moves between imports only if a namespace/name changed owner; follow it.
        if (this.#keyOwner.get(key) !== owner) {
          this.#release(key);
          this.#bind(owner, key, held);
        }
        ports.set(key, held);
        continue;
      }
      const port = this.#freePortFrom(this.preferredPort(key));
      if (port === undefined) exhausted.push(key);
      else {
        this.#bind(owner, key, port);
        ports.set(key, port);
      }
    }
    return { ports, exhausted };
  }

  /** Every allocation, for the tunnel table. */
  entries(): [key: string, port: number][] {
    return [...this.#byKey].sort((a, b) => a[1] - b[1]);
  }

  #freePortFrom(start: number): number | undefined {
    const span = this.#range.max - this.#range.min + 1;
    for (let i = 0; i < span; i++) {
      const p = this.#range.min + ((start - this.#range.min + i) % span);
      if (!this.#byPort.has(p)) return p;
    }
    return undefined;
  }

  #bind(owner: string, key: string, port: number): void {
    this.#byPort.set(port, key);
    this.#byKey.set(key, port);
    this.#keyOwner.set(key, owner);
    let set = this.#owned.get(owner);
    if (!set) this.#owned.set(owner, (set = new Set()));
    set.add(key);
  }

  #release(key: string): void {
    const port = this.#byKey.get(key);
    if (port !== undefined) this.#byPort.delete(port);
    this.#byKey.delete(key);
    const owner = this.#keyOwner.get(key);
    this.#keyOwner.delete(key);
    if (owner !== undefined) {
      const set = this.#owned.get(owner);
      set?.delete(key);
      if (set?.size === 0) this.#owned.delete(owner);
    }
  }
}
