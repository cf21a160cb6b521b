import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeFailure, kubeStatus } from './kube-failure.ts';

// What kube-apiserver answers to a Secret create in a namespace that does not exist, as
// client-node 2.x throws it (an undeclared status code: "Unknown API Status Code!").
const notFoundBody = JSON.stringify({
  kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'namespaces "plexus-system" not found',
  reason: 'NotFound', details: { name: 'plexus-system', kind: 'namespaces' }, code: 404,
});
const dump = () => new ApiException(404, 'Unknown API Status Code!', notFoundBody, { 'audit-id': 'abc', 'content-type': 'application/json', date: 'Thu, 03 Dec 2026' });

describe('kubeFailure', () => {
  // Regression (issue 12): join printed `… cannot create Secret …: HTTP-Code: 404` and then
  // client-node's whole dump: message, body and every response header.
  it('maps a client-node ApiException to one line with the object, the server\'s message and reason, and no dump', () => {
    const err = kubeFailure('create', { kind: 'Secret', namespace: 'plexus-system', name: 'plexus-agent-identity' }, 'https://10.0.0.1:6443', dump());
    expect(err.code).toBe('PLX_AGENT_KUBE');
    expect(err.status).toBe(404);
    expect(err.reason).toBe('NotFound');
    expect(err.message).toBe('cannot create Secret plexus-system/plexus-agent-identity on https://10.0.0.1:6443: namespaces "plexus-system" not found (NotFound, HTTP 404)');
    // What the CLI prints of it (one line) is checked beside the printer, cli/output.test.ts.
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('reads a Status given as an object, and says so when there is none', () => {
    expect(kubeStatus(403, { reason: 'Forbidden', message: 'no' })).toMatchObject({ code: 403, reason: 'Forbidden', message: 'no' });
    const err = kubeFailure('read', { kind: 'Secret', namespace: 'a', name: 'b' }, 's', new ApiException(502, 'Bad Gateway', '<html>\n</html>', {}));
    expect(err.message).toBe('cannot read Secret a/b on s: no message from the API server (HTTP 502)');
  });

  it('keeps only the first line of a failure that is not an API answer', () => {
    const err = kubeFailure('read', { kind: 'Secret', namespace: 'a', name: 'b' }, 's', new Error('connect ECONNREFUSED\n    at x'));
    expect(err.message).toBe('cannot read Secret a/b on s: connect ECONNREFUSED');
  });
});
