// A real, in-process Plexus agent (agent/main.ts startAgent) joined to a test broker with
// a real join token, against one harness cluster: every controller, the catalog watch and
// the DNS server run as in `plexus agent run`. Probes are off (no peer agents to reach).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseAgentConfig } from '../../../agent/config.ts';
import { FileIdentityStore } from '../../../agent/identity/file-identity-store.ts';
import { joinClusterset } from '../../../agent/join/join.ts';
import { startAgent, type RunningAgent } from '../../../agent/main.ts';
import { fingerprintSha256 } from '../../../certs/pem.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { createToken, type TestBroker } from './broker-fixture.ts';

export interface TestAgent {
  readonly agent: RunningAgent;
  stop(): Promise<void>;
}

export async function startTestAgent(broker: TestBroker, cluster: Cluster, clusterId: string): Promise<TestAgent> {
  const dataDir = mkdtempSync(join(tmpdir(), `plexus-agent-${clusterId}-`));
  const { token } = await createToken(broker, clusterId);
  await joinClusterset({
    brokerUrl: broker.url, token, clusterId, caFingerprint: fingerprintSha256(broker.caPem), store: new FileIdentityStore(dataDir), now: () => new Date(),
  });
  const config = parseAgentConfig({
    kubeconfig: cluster.kubeconfigPath, dataDir, probeListen: 'off', requeueBaseMs: 20, brokerRetryBaseMs: 50,
  });
  const agent = await startAgent(config, { logger: pino({ level: process.env.PLX_TEST_LOG ?? 'silent' }) });
  await agent.ready;
  return {
    agent,
    async stop() {
      await agent.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
