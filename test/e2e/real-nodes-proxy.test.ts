// kubectl exec (plain, -i, -it on a real pseudo-terminal), attach, logs -f and port-forward
// on real pods, through each agent's access proxy as one shared identity, over WebSocket and
// over SPDY, on two real-node clusters with Plexus deployed as pods (deployPlexus: the
// image, `kubectl apply -k deploy/overlays/real-nodes/*`, each proxy on its node's NodePort
// 30443 reaching its API server with the agent's own ServiceAccount), with a person invited
// and logged in with the real CLI and the real kubectl. The central RBAC baseline grants the
// person's group exec/attach/port-forward in one namespace and only reading in another.
// Which wire each session used is read from the proxy's own audit lines in the agent pod's
// log (the Upgrade asked for and the subprotocol the API server chose), not assumed from the
// kubectl switches.
// Needs root, `npm run nodes:install` and buildah; runs with `npm run test:nodes`.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../harness/cluster.ts';
import { KubectlSession, runKubectl, type KubectlIdentity } from './support/kubectl-session.ts';
import { deployedAgents, type AuditLine, type ProxyEnv } from './support/access-proxy-env.ts';
import { waitFor } from '../harness/wait-for.ts';
import { groupRoleBinding, namespace } from './support/rbac.ts';

const TOOLS = 'plexus.local/lab-tools:1';
const ALLOWED = 'workbench';
const DENIED = 'vault';
const RBAC = 'rbac.authorization.k8s.io/v1';

const role = (ns: string, name: string, rules: { resources: string[]; verbs: string[] }[]) => ({
  apiVersion: RBAC, kind: 'Role', metadata: { name, namespace: ns }, rules: rules.map((r) => ({ apiGroups: [''], ...r })),
});
const read = { resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] };
// WebSocket sessions are GETs and SPDY ones POSTs (connect verbs get/create): grant both.
const operate = { resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['get', 'create'] };
const baseline = [
  namespace(ALLOWED), role(ALLOWED, 'pod-operator', [read, operate]), groupRoleBinding(ALLOWED, 'dev-operate', 'pod-operator', 'plexus:dev'),
  namespace(DENIED), role(DENIED, 'pod-reader', [read]), groupRoleBinding(DENIED, 'dev-read', 'pod-reader', 'plexus:dev'),
];

/** A pod with an HTTP server on 8080 (a page and a 1 MiB random blob) whose main process echoes each stdin line. */
function toolsPod(ns: string, cluster: string): string {
  const script = 'mkdir -p /tmp/www && echo "served by $(hostname) in $CLUSTER/$NS" > /tmp/www/index.html'
    + ' && head -c 1048576 /dev/urandom > /tmp/www/blob && httpd -p 8080 -h /tmp/www'
    + ' && echo ready && while read -r l; do echo "echo:$l"; done';
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tools', namespace: ns },
    spec: {
      terminationGracePeriodSeconds: 0, automountServiceAccountToken: false,
      containers: [{
        name: 'tools', image: TOOLS, imagePullPolicy: 'Never', stdin: true, command: ['sh', '-c', script],
        env: [{ name: 'CLUSTER', value: cluster }, { name: 'NS', value: ns }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      }],
    },
  });
}

type Wire = 'websocket' | 'spdy';
const WIRES: readonly Wire[] = ['websocket', 'spdy'];
const wireEnv = (w: Wire): Record<string, string> => (w === 'spdy'
  ? { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }
  : { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'true', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'true' });

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function proxySuite(makeEnv: () => ProxyEnv): void {
  const env0 = makeEnv();
  const home = mkdtempSync(path.join(os.tmpdir(), 'plexus-real-proxy-'));
  let dana: KubectlIdentity;
  const figures: string[] = [];
  const clusters = () => env0.clusters();
  const ctx = (c: Cluster) => ['--context', `plexus-${c.name}`, '--request-timeout', '30s'];
  const admin = (c: Cluster): KubectlIdentity => ({ kubeconfig: c.kubeconfigPath, cacheDir: path.join(home, `admin-${c.name}`) });

  /** Runs `fn`, then returns the proxy audit lines of cluster `c` written meanwhile for exec, attach and port-forward. */
  async function audited<T>(c: Cluster, fn: () => Promise<T>): Promise<{ result: T; lines: AuditLine[] }> {
    const since = Date.now();
    const result = await fn();
    const lines = async () => (await env0.audit(c, since)).filter((l) => ['exec', 'attach', 'portforward'].includes(l.subresource ?? ''));
    // An upgrade's audit line is written at 101; a refused one when its answer went out.
    return { result, lines: await waitFor(async () => {
      const got = await lines();
      return got.length > 0 ? got : undefined;
    }, { what: `the proxy of ${c.name} audited the session`, timeoutMs: 15_000 }) };
  }

  /** The wire every session in `lines` used: status 101 over exactly the protocol asked for. */
  function expectWire(lines: AuditLine[], wire: Wire, subresource: string) {
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).toMatchObject({ subresource, status: 101, user: 'dana', decision: 'forwarded' });
      if (wire === 'websocket') expect(l.protocol?.toLowerCase()).toBe('websocket');
      else expect(l.protocol).toMatch(/^SPDY\/3\.1$/);
    }
    return lines.map((l) => `${l.protocol} (${l.subprotocol})`);
  }

  beforeAll(async () => {
    await env0.applyBaseline(baseline);
    for (const c of clusters()) {
      for (const ns of [ALLOWED, DENIED]) {
        // The namespace's default ServiceAccount comes from kube-controller-manager a moment after the namespace.
        await waitFor(async () => (await c.kubectl(['apply', '-f', '-'], { input: toolsPod(ns, c.name) })).code === 0, { what: `pod tools in ${c.name}/${ns} created` });
      }
    }
    for (const c of clusters()) {
      for (const ns of [ALLOWED, DENIED]) {
        const r = await c.kubectl(['wait', '-n', ns, '--for=condition=Ready', 'pod/tools', '--timeout=90s'], { timeoutMs: 100_000 });
        expect(r.code, r.stderr).toBe(0);
      }
    }
    dana = await env0.login('dana', ['dev'], path.join(home, 'dana'));
  }, 900_000);

  afterAll(() => {
    if (figures.length) console.log(`[e2e] real-nodes proxy figures (${env0.kind}):\n  ${figures.join('\n  ')}`);
    rmSync(home, { recursive: true, force: true });
  });

  describe.each(WIRES)('over %s', (wire) => {
    const env = wireEnv(wire);

    it('kubectl exec: stdout, stderr and the exit code come back from the pod, in every cluster', async () => {
      for (const c of clusters()) {
        const { result: r, lines } = await audited(c, () => runKubectl(dana, [...ctx(c), 'exec', '-n', ALLOWED, 'tools', '--',
          'sh', '-c', 'echo "out from $(hostname) in $CLUSTER"; echo err >&2; exit 7'], { env }));
        expect(r.stdout).toBe(`out from tools in ${c.name}\n`);
        expect(r.stderr).toContain('err\n');
        expect(r.code).toBe(7);
        figures.push(`${c.name} exec over ${wire}: ${expectWire(lines, wire, 'exec').join(', ')}`);
      }
    });

    it('kubectl exec -i: 1 MiB of stdin reaches the pod byte for byte, in every cluster', async () => {
      const input = randomBytes(1 << 20);
      for (const c of clusters()) {
        const { result: r, lines } = await audited(c, () => runKubectl(dana, [...ctx(c), 'exec', '-i', '-n', ALLOWED, 'tools', '--', 'busybox', 'sha256sum'], { env, input }));
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout.split(/\s/)[0]).toBe(sha256(input));
        expectWire(lines, wire, 'exec');
      }
    });

    it('kubectl exec -it on a real pseudo-terminal: the pod sees a TTY, answers typed input, and its exit code comes back', async () => {
      for (const c of clusters()) {
        const { result: s, lines } = await audited(c, async () => {
          const s = new KubectlSession(dana, [...ctx(c), 'exec', '-it', '-n', ALLOWED, 'tools', '--', 'sh'], { env, pty: true });
          try {
            s.write('busybox tty; echo "product $((6*7))"\r');
            await s.waitForOutput(/product 42/, `the shell in ${c.name} to answer`);
            s.write('exit 3\r');
            return { ...(await s.exit(30_000)), stdout: s.stdout, stderr: s.stderr };
          } finally {
            await s.stop();
          }
        });
        expect(s.stdout).toMatch(/\/dev\/pts\/\d+/);
        expect(s.code).toBe(3);
        expectWire(lines, wire, 'exec');
      }
    });

    it('kubectl attach -i: a line typed reaches the pod\'s main process and its answer comes back, in every cluster', async () => {
      for (const c of clusters()) {
        const marker = `${wire}-${c.name}-${Date.now()}`;
        const { lines } = await audited(c, async () => {
          const s = new KubectlSession(dana, [...ctx(c), 'attach', '-i', '-n', ALLOWED, 'tools'], { env });
          try {
            // kubectl reads stdin once attached; a line written earlier waits in the pipe.
            s.write(`${marker}\n`);
            await s.waitForOutput(new RegExp(`echo:${marker}`), `the attached process in ${c.name} to echo`);
          } finally {
            await s.stop();
          }
        });
        expectWire(lines, wire, 'attach');
      }
    });

    it('kubectl port-forward: real bytes from the pod\'s HTTP server through the forwarded port, in every cluster', async () => {
      for (const c of clusters()) {
        const blobSum = (await runKubectl(dana, [...ctx(c), 'exec', '-n', ALLOWED, 'tools', '--', 'busybox', 'sha256sum', '/tmp/www/blob'])).stdout.split(/\s/)[0];
        const { lines } = await audited(c, async () => {
          const s = new KubectlSession(dana, [...ctx(c), 'port-forward', '-n', ALLOWED, 'pod/tools', ':8080', '--address', '127.0.0.1'], { env });
          try {
            const port = Number((await s.waitForOutput(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/, 'port-forward to listen'))[1]);
            const page = await fetch(`http://127.0.0.1:${port}/index.html`);
            expect(await page.text()).toBe(`served by tools in ${c.name}/${ALLOWED}\n`);
            const blob = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/blob`)).arrayBuffer());
            expect(blob.length).toBe(1 << 20);
            expect(sha256(blob)).toBe(blobSum);
          } finally {
            await s.stop();
          }
        });
        figures.push(`${c.name} port-forward over ${wire}: ${expectWire(lines, wire, 'portforward').join(', ')}`);
      }
    });

    it('refuses exec, attach and port-forward in the namespace where the person may only read, with Forbidden', async () => {
      for (const c of clusters()) {
        expect((await runKubectl(dana, [...ctx(c), 'get', 'pod', '-n', DENIED, 'tools', '-o', 'name'], { env })).stdout.trim()).toBe('pod/tools');
        const cases: [string, string[]][] = [
          ['pods/exec', ['exec', '-n', DENIED, 'tools', '--', 'true']],
          ['pods/attach', ['attach', '-n', DENIED, 'tools']],
        ];
        for (const [resource, args] of cases) {
          const { result: r, lines } = await audited(c, () => runKubectl(dana, [...ctx(c), ...args], { env }));
          expect(r.code, `${args[0]} in ${c.name}`).not.toBe(0);
          expect(r.stderr).toMatch(new RegExp(`Forbidden.*User "plexus:dana" cannot (create|get) resource "${resource.replace('/', '\\/')}"`, 's'));
          expect(lines.every((l) => l.status === 403 && l.decision === 'forwarded'), JSON.stringify(lines)).toBe(true);
          expect(lines.map((l) => l.protocol?.toLowerCase())).toContain(wire === 'spdy' ? 'spdy/3.1' : 'websocket');
          figures.push(`${c.name} ${resource} refused over ${wire}: ${lines.map((l) => `${l.protocol} ${l.status}`).join(', ')}`);
        }
        // port-forward listens first and is refused on the first connection through it.
        const { lines } = await audited(c, async () => {
          const s = new KubectlSession(dana, [...ctx(c), 'port-forward', '-n', DENIED, 'pod/tools', ':8080', '--address', '127.0.0.1'], { env });
          try {
            await waitFor(async () => {
              if (!s.running) return true;
              const port = s.stdout.match(/127\.0\.0\.1:(\d+) -> 8080/)?.[1];
              if (port) await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
              return /forbidden/i.test(s.stderr) || undefined;
            }, { what: 'port-forward to be refused' });
          } finally {
            await s.stop();
          }
          expect(s.stderr).toMatch(/Forbidden|forbidden/);
          expect(s.stderr).toContain('pods/portforward');
        });
        expect(lines.every((l) => l.status === 403), JSON.stringify(lines)).toBe(true);
      }
    });
  });

  it('kubectl logs -f: a line the pod writes while the person follows arrives through the proxy, in every cluster', async () => {
    for (const c of clusters()) {
      const write = (m: string) => runKubectl(admin(c), ['exec', '-n', ALLOWED, 'tools', '--', 'sh', '-c', `echo ${m} > /proc/1/fd/1`]);
      const before = `before-${Date.now()}`;
      expect((await write(before)).code).toBe(0);
      const s = new KubectlSession(dana, [...ctx(c), 'logs', '-f', '-n', ALLOWED, 'tools']);
      try {
        await s.waitForOutput(new RegExp(before), 'the log so far').catch(async (e: Error) => {
          const direct = await runKubectl(admin(c), ['logs', '-n', ALLOWED, 'tools']);
          throw new Error(`${e.message}; kubectl logs -f printed ${JSON.stringify(s.stdout)}; the admin's kubectl logs: ${JSON.stringify(direct.stdout)} ${direct.stderr}`);
        });
        const during = `during-${Date.now()}`;
        const wrote = performance.now();
        expect((await write(during)).code).toBe(0);
        await s.waitForOutput(new RegExp(during), 'the line written while following', 15_000);
        figures.push(`${c.name} logs -f: a new line arrived ${Math.round(performance.now() - wrote)} ms after the write began (includes the admin exec that writes it)`);
        expect(s.running).toBe(true);
      } finally {
        await s.stop();
      }
    }
  });

  it('time to first byte of kubectl exec: through the proxy vs straight at the API server', async () => {
    const c = clusters()[0]!;
    const sample = async (who: KubectlIdentity, extra: string[], wire: Wire) => {
      const ttfb: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await runKubectl(who, [...extra, 'exec', '-n', ALLOWED, 'tools', '--', 'echo', 'x'], { env: wireEnv(wire) });
        expect(r.code).toBe(0);
        ttfb.push(r.timeToFirstByte!);
      }
      return Math.round(median(ttfb));
    };
    for (const wire of WIRES) {
      const proxied = await sample(dana, ctx(c), wire);
      const direct = await sample(admin(c), [], wire);
      figures.push(`exec time to first byte over ${wire} (median of 5, kubectl start included): proxy ${proxied} ms, direct ${direct} ms`);
    }
  });
}

describe('kubectl exec, attach, logs -f and port-forward on real pods through each access proxy, Plexus deployed as pods', () => {
  proxySuite(() => deployedAgents(2));
});
