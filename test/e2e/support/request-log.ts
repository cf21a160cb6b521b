// Client pods that log one line per request, so what a client saw during a failover can
// be read back afterwards to the millisecond: which cluster served each request, which
// failed, and when the traffic settled on its new target.
import type { Cluster } from '../../harness/cluster.ts';
import { waitFor } from '../../harness/wait-for.ts';
import { kubectlOk, LAB_TOOLS } from './pods.ts';

/**
 * A pod that requests `url` every `gapMs` and logs `<epoch ms> <status> <body>` per
 * request: status `ok` with the page, or `fail` with curl's error. Each request is a new
 * curl, so it resolves the name again through the cluster's CoreDNS.
 */
export function requestLoopPod(ns: string, name: string, url: string, o: { timeoutSeconds?: number; gapMs?: number } = {}): object {
  // The lab-tools image is busybox + dash: its date has no %N and it has no cut on the PATH.
  // Milliseconds come from /proc/uptime (centiseconds), set against the wall clock once at
  // the tick of a second.
  const script = [
    's=$(date +%s); while [ "$(date +%s)" = "$s" ]; do :; done',
    'read up _ < /proc/uptime; off=$(( (s + 1) * 1000 - ${up%.*}${up#*.}0 ))',
    'while :; do',
    '  read up _ < /proc/uptime; at=$(( off + ${up%.*}${up#*.}0 ))',
    `  if out=$(curl -sS -m ${o.timeoutSeconds ?? 1} ${url} 2>&1); then s=ok; else s=fail; fi`,
    '  echo "$at $s $(echo "$out" | tr "\\n" " " | busybox cut -c1-120)"',
    `  sleep ${(o.gapMs ?? 100) / 1000}`,
    'done',
  ].join('\n');
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { role: 'client' } },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'loop', image: LAB_TOOLS, imagePullPolicy: 'Never', command: ['sh', '-c', script] }] },
  };
}

export interface Request { at: number; ok: boolean; body: string; servedBy: string | undefined }

/** The request log of a requestLoopPod. */
export async function requestLog(c: Cluster, ns: string, pod: string): Promise<Request[]> {
  return parseRequestLog(await kubectlOk(c, ['logs', '-n', ns, pod]));
}

/** The lines of a requestLoopPod's log that have its format; anything else is skipped. */
export function parseRequestLog(out: string): Request[] {
  return out.split('\n').flatMap((l) => {
    const m = /^(\d{13}) (ok|fail) ?(.*)$/.exec(l);
    if (!m) return [];
    const body = m[3]!.trim();
    return [{ at: Number(m[1]), ok: m[2] === 'ok', body, servedBy: m[2] === 'ok' ? /^served-by (\S+)/.exec(body)?.[1] : undefined }];
  });
}


/** Polls a pod's request log (every 500 ms) until `done` returns something. */
export async function untilRequests<T>(c: Cluster, ns: string, pod: string, what: string, done: (log: Request[]) => T | undefined, timeoutMs: number): Promise<T> {
  return waitFor(async () => done(await requestLog(c, ns, pod)), { what, timeoutMs, intervalMs: 500 });
}

export interface Switch {
  /** When the first request of the settled run was sent. */
  at: number;
  /** From the fault (or heal) to `at`. */
  afterMs: number;
  /** Requests sent in between that failed. */
  failed: number;
  /** Requests sent in between that succeeded (served by the old target, or by `to` before the run settled). */
  succeeded: number;
  /** Requests sent in between. */
  total: number;
}

/**
 * When the traffic after `since` settled on `to`: the first request from which on every
 * request (at least `settled` of them, up to `until`) succeeded and was served by `to`.
 * Undefined while it has not settled.
 */
export function switchTo(log: readonly Request[], since: number, to: string, o: { settled?: number; until?: number } = {}): Switch | undefined {
  const after = log.filter((r) => r.at >= since && r.at < (o.until ?? Infinity));
  let first = after.length;
  while (first > 0 && after[first - 1]!.ok && after[first - 1]!.servedBy === to) first--;
  if (after.length - first < (o.settled ?? 10)) return undefined;
  const before = after.slice(0, first);
  const at = after[first]!.at;
  return { at, afterMs: at - since, failed: before.filter((r) => !r.ok).length, succeeded: before.filter((r) => r.ok).length, total: before.length };
}
