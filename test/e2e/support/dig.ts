// Real clients against the agent's DNS server: `dig` (bind9-dnsutils) run as a process,
// its output parsed into rcode, flags, sections and EDNS; and one resolver's worth of
// records shared by the DNS integration tests.
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Resolver } from '../../../agent/dns/resolver.ts';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  question: string;
  answers: string[][];
  authority: string[][];
  edns: string | undefined;
  raw: string;
}

/** Runs `dig @host -p port <args>` and parses its default output. */
export async function dig(host: string, port: number, args: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', [`@${host}`, '-p', String(port), '+time=2', '+tries=1', ...args]);
  return parseDig(stdout);
}

export function parseDig(raw: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(raw)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([a-z ]*);/.exec(raw)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const section = (name: string) => {
    const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(raw);
    return m ? m[1]!.split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.split(/\s+/)) : [];
  };
  const question = /;; QUESTION SECTION:\n;(\S+)/.exec(raw)?.[1] ?? '';
  const edns = /; EDNS: ([^\n]*)/.exec(raw)?.[1];
  return { status, flags, question, answers: section('ANSWER'), authority: section('AUTHORITY'), edns, raw };
}

/** rdata of the answers (columns after name, ttl, class, type). */
export const rdata = (r: DigResult) => r.answers.map((a) => a.slice(4).join(' ')).sort();

export function sampleResolver(ttlSeconds = 5): Resolver {
  const r = new Resolver({ ttlSeconds, nameservers: ['127.0.0.1'] });
  r.setService('shop', 'cart', {
    type: 'ClusterSetIP', ips: ['10.96.0.10', 'fd00:96::10'],
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }, { protocol: 'TCP', port: 8443 }],
  });
  r.setService('db', 'pg', {
    type: 'Headless', ports: [{ name: 'sql', protocol: 'TCP', port: 5432 }],
    endpoints: [
      { cluster: 'east', addresses: ['10.1.0.1'], hostname: 'pg-0' },
      { cluster: 'west', addresses: ['10.2.0.1'], hostname: 'pg-0' },
      { cluster: 'west', addresses: ['10.2.0.2'] },
    ],
  });
  r.setService('db', 'big', {
    type: 'Headless', ports: [],
    endpoints: Array.from({ length: 120 }, (_, i) => ({ cluster: 'east', addresses: [`10.3.${i >> 8}.${i & 255}`], hostname: `big-${i}` })),
  });
  r.markReady();
  return r;
}

/** A real CoreDNS (the cache's build) run with `corefile`; stop() kills it. */
export function startCoredns(binary: string, corefile: string, dir: string): { stop(): Promise<void>; log(): string } {
  const conf = path.join(dir, 'Corefile');
  const logFile = path.join(dir, 'coredns.log');
  writeFileSync(conf, corefile);
  const fd = openSync(logFile, 'a');
  const child = spawn(binary, ['-conf', conf], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return {
    log: () => readFileSync(logFile, 'utf8'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
