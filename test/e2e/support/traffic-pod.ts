// A client pod that keeps asking and connecting, the way a workload does, until told to
// stop: for each target it asks its own cluster's DNS (the nameserver in the pod's
// resolv.conf: the cluster's CoreDNS behind kube-dns, which hands `clusterset.local` to the
// agent) over UDP and over TCP with `dig`, compares the answer with the expected addresses,
// and opens an HTTP connection with `curl` (resolved through the libc resolver with the
// pod's search path, as applications resolve). It runs from the lab-tools image. Its
// record, in its log and in /tmp/record (read by `kubectl exec`, which does not depend on
// the kubelet's log files): one `FAIL` line per failed request as it happens, a `TALLY`
// line now and then, and `END` with the totals once `/tmp/stop` exists. It starts asking
// once `/tmp/go` exists (go()), so a test can wait for the names to settle first.
import type { Cluster } from '../../harness/cluster.ts';
import { waitFor } from '../../harness/wait-for.ts';

const TOOLS = 'plexus.local/lab-tools:1';

export interface TrafficTarget {
  /** The name asked and connected to, e.g. `cart.shop.svc.clusterset.local`. */
  readonly host: string;
  /** The exact A records expected, in any order. */
  readonly answers: readonly string[];
  /** HTTP port to connect to; with `connectTo: 'answer'` the first answer is dialled instead of the name. */
  readonly port: number;
  readonly connectTo?: 'name' | 'answer';
}

export interface TrafficTally {
  /** Requests made per kind: `dns-udp`, `dns-tcp`, `connect`. */
  readonly made: Record<string, number>;
  readonly failures: string[];
  readonly rounds: number;
}

// dash: one round asks every target over UDP and TCP and connects once to each. A failure
// is printed at once (with the time), so a pod that dies mid-run still leaves its record.
const SCRIPT = `
set -u
say() { echo "$*"; echo "$*" >> /tmp/record; }
while [ ! -e /tmp/go ]; do sleep 0.2; done
udp=0; tcp=0; con=0; fail=0; round=0
check() { # kind host expected-sorted-csv ...dig args
  kind=$1; host=$2; want=$3; shift 3
  got=$(dig +short +time=2 +tries=1 "$@" "$host" A 2>&1 | sort | tr '\\n' ',')
  if [ "$got" != "$want" ]; then fail=$((fail+1)); say "FAIL $kind $host $(date +%s) got=[$got] want=[$want]"; fi
}
while [ ! -e /tmp/stop ]; do
  round=$((round+1))
  for t in $TARGETS; do
    host=\${t%%|*}; rest=\${t#*|}; want=\${rest%%|*}; rest=\${rest#*|}; port=\${rest%%|*}; dial=\${rest#*|}
    check dns-udp "$host" "$want"; udp=$((udp+1))
    check dns-tcp "$host" "$want" +tcp; tcp=$((tcp+1))
    if [ "$dial" = answer ]; then url="http://\${want%%,*}:$port/"; else url="http://$host:$port/"; fi
    out=$(curl -sS -m 3 -o /dev/null -w '%{http_code}' "$url" 2>&1 | tr '\\n' ' ')
    con=$((con+1))
    if [ "$out" != 200 ]; then fail=$((fail+1)); say "FAIL connect $url $(date +%s) $out"; fi
  done
  if [ $round -eq 1 ] || [ $((round % 20)) -eq 0 ]; then say "TALLY round=$round dns-udp=$udp dns-tcp=$tcp connect=$con fail=$fail"; fi
  sleep "$PAUSE"
done
say "END round=$round dns-udp=$udp dns-tcp=$tcp connect=$con fail=$fail"
sleep 3600
`;

function kvs(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of line.matchAll(/([a-z-]+)=(\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Reads a traffic pod's record: every FAIL line and the totals of its last TALLY or END line. */
export function parseTrafficLog(log: string): TrafficTally & { ended: boolean } {
  const lines = log.split('\n');
  const failures = lines.filter((l) => l.startsWith('FAIL '));
  const last = lines.filter((l) => l.startsWith('TALLY ') || l.startsWith('END ')).at(-1) ?? '';
  const n = kvs(last);
  return {
    made: { 'dns-udp': n['dns-udp'] ?? 0, 'dns-tcp': n['dns-tcp'] ?? 0, connect: n.connect ?? 0 },
    failures, rounds: n.round ?? 0, ended: last.startsWith('END '),
  };
}

export class TrafficPod {
  readonly cluster: Cluster;
  readonly namespace: string;
  readonly name: string;

  private constructor(cluster: Cluster, namespace: string, name: string) {
    this.cluster = cluster;
    this.namespace = namespace;
    this.name = name;
  }

  /** Creates the pod and waits until it is Ready; it asks nothing until go(). */
  static async create(cluster: Cluster, o: { namespace: string; name: string; targets: readonly TrafficTarget[]; pauseSeconds?: number }): Promise<TrafficPod> {
    for (const t of o.targets) {
      if (/[|\s]/.test(t.host) || t.answers.some((a) => /[|,\s]/.test(a))) throw new Error(`traffic target ${t.host}: no '|', ',' or spaces in names or answers`);
    }
    const targets = o.targets.map((t) => `${t.host}|${[...t.answers].sort().map((a) => `${a},`).join('')}|${t.port}|${t.connectTo ?? 'name'}`).join(' ');
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: o.name, namespace: o.namespace, labels: { app: o.name } },
      spec: {
        terminationGracePeriodSeconds: 0, restartPolicy: 'Never',
        containers: [{
          name: 'traffic', image: TOOLS, imagePullPolicy: 'Never', command: ['sh', '-c', SCRIPT],
          env: [{ name: 'TARGETS', value: targets }, { name: 'PAUSE', value: String(o.pauseSeconds ?? 0.2) }],
        }],
      },
    };
    const p = new TrafficPod(cluster, o.namespace, o.name);
    await p.#kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    await p.#kubectl(['-n', o.namespace, 'wait', '--for=condition=Ready', `pod/${o.name}`, '--timeout=300s']);
    return p;
  }

  /** Runs a command in the pod (e.g. a `dig` to wait until the names have settled). */
  exec(command: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    return this.cluster.kubectl(['-n', this.namespace, 'exec', this.name, '--', ...command], { timeoutMs: 60_000 });
  }

  /** Starts the loop and waits until it has made its first full round. */
  async go(): Promise<void> {
    await this.#kubectl(['-n', this.namespace, 'exec', this.name, '--', 'touch', '/tmp/go']);
    await waitFor(async () => ((await this.tally()).rounds > 0 ? true : undefined), { what: `${this.name}'s first round`, timeoutMs: 120_000, intervalMs: 1000 });
  }

  /** What the record says so far. */
  async tally(): Promise<TrafficTally & { ended: boolean }> {
    return parseTrafficLog(await this.#kubectl(['-n', this.namespace, 'exec', this.name, '--', 'cat', '/tmp/record']));
  }

  /** Stops the loop after its current round and returns the totals. */
  async stop(): Promise<TrafficTally> {
    await this.#kubectl(['-n', this.namespace, 'exec', this.name, '--', 'touch', '/tmp/stop']);
    return waitFor(async () => {
      const t = await this.tally();
      return t.ended ? t : undefined;
    }, { what: `${this.name} to end`, timeoutMs: 60_000, intervalMs: 500 });
  }

  async #kubectl(args: string[], input?: string): Promise<string> {
    const r = await this.cluster.kubectl(args, { input, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} in ${this.cluster.name}: ${r.stderr.trim()}`);
    return r.stdout;
  }
}
