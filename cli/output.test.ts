// The one-line error message the `plexus` program prints (describeError), for Kubernetes
// client failures: moved from agent/kube/kube-failure.test.ts so that agent/ never imports
// cli/ (the CLI sits on top of the runtime packages, not under them).
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../agent/errors.ts';
import { kubeFailure } from '../agent/kube/kube-failure.ts';
import { describeError } from './output.ts';

// What kube-apiserver answers to a Secret create in a namespace that does not exist, as
// client-node 2.x throws it (an undeclared status code: "Unknown API Status Code!").
const notFoundBody = JSON.stringify({
  kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'namespaces "plexus-system" not found',
  reason: 'NotFound', details: { name: 'plexus-system', kind: 'namespaces' }, code: 404,
});
const dump = () => new ApiException(404, 'Unknown API Status Code!', notFoundBody, { 'audit-id': 'abc', 'content-type': 'application/json', date: 'Thu, 03 Dec 2026' });

describe('describeError of a mapped kubeFailure', () => {
  // Regression (issue 12): join printed `… cannot create Secret …: HTTP-Code: 404` and then
  // client-node's whole dump: message, body and every response header.
  it('prints a client-node ApiException mapped by kubeFailure as one line', () => {
    const err = kubeFailure('create', { kind: 'Secret', namespace: 'plexus-system', name: 'plexus-agent-identity' }, 'https://10.0.0.1:6443', dump());
    expect(describeError(err).split('\n')).toHaveLength(1);
  });
});

describe('describeError with a client-node dump', () => {
  it('prints an unmapped ApiException as one line with a stable code', () => {
    expect(describeError(dump())).toBe('error [PLX_AGENT_KUBE]: Kubernetes API request failed: namespaces "plexus-system" not found (NotFound, HTTP 404)');
  });

  it('replaces a dump pasted into a wrapping message with the Status it carried', () => {
    const inner = dump();
    const wrapped = new AgentError('PLX_AGENT_KUBE', `cannot create Secret a/b: ${inner.message}`, { cause: inner });
    expect(describeError(wrapped)).toBe('error [PLX_AGENT_KUBE]: cannot create Secret a/b: namespaces "plexus-system" not found (NotFound, HTTP 404)');
  });
});
