import { describe, expect, it } from 'vitest';
import { kubeletYaml, nodePaths, type NodeConfigInput } from './node-config.ts';

const node = (dir: string, name: string): NodeConfigInput => ({
  nodeName: name, dir, nodeIp: '172.30.0.11', podCidr: '10.200.1.0/24', podGateway: '10.200.1.1', serviceCidr: '10.96.0.0/16',
  clusterDns: '10.96.0.10', cgroupRoot: '/plx0-1', cniNetwork: 'plx0-1', sandboxImage: 'plexus.local/pause:1', cniBinDir: '/usr/lib/cni',
});

describe('kubelet configuration of a lab node', () => {
  // Every kubelet's container GC deletes the dirs under its podLogsDir that belong to pods
  // it does not know. With the default /var/log/pods shared by every node on the host, the
  // kubelets of two clusters (or of two labs) erased each other's container logs within a
  // minute: `kubectl logs` and `logs -f` came back empty, with exit code 0.
  it('gives each node its own pod log dir below its own dir (kubelets sharing /var/log/pods deleted each other\'s pod logs)', () => {
    const dirs = ['/tmp/lab-a/cluster-1', '/tmp/lab-a/cluster-2'];
    const logDirs = dirs.map((d, i) => {
      const yaml = kubeletYaml(node(d, `cluster-${i + 1}-node`), '/ca.crt');
      const m = yaml.match(/^podLogsDir: (\S+)$/m);
      expect(m, 'kubelet.yaml sets podLogsDir').not.toBeNull();
      expect(m![1]).toBe(nodePaths(d).podLogsDir);
      expect(m![1]!.startsWith(`${d}/`)).toBe(true);
      return m![1]!;
    });
    expect(new Set(logDirs).size).toBe(2);
    expect(logDirs).not.toContain('/var/log/pods');
  });
});
