import { describe, expect, it } from 'vitest';
import { requestInfo } from './request-info.ts';

describe('requestInfo', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', { verb: 'list', resource: 'pods', namespace: 'default' }],
    ['GET', '/api/v1/namespaces/default/pods?watch=true&resourceVersion=1', { verb: 'watch', resource: 'pods', namespace: 'default' }],
    ['GET', '/api/v1/namespaces/default/pods/web', { verb: 'get', resource: 'pods', namespace: 'default', name: 'web' }],
    ['POST', '/api/v1/namespaces/default/pods/web/exec?command=ls', { verb: 'create', resource: 'pods', name: 'web', subresource: 'exec' }],
    ['DELETE', '/apis/apps/v1/namespaces/x/deployments', { verb: 'deletecollection', resource: 'deployments', namespace: 'x' }],
    ['PATCH', '/apis/apps/v1/namespaces/x/deployments/d', { verb: 'patch', resource: 'deployments', name: 'd' }],
    ['GET', '/api/v1/namespaces/kube-system', { verb: 'get', resource: 'namespaces', name: 'kube-system' }],
    ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { verb: 'create', resource: 'selfsubjectaccessreviews' }],
    ['GET', '/version', { verb: 'get' }],
  ])('%s %s', (method, url, expected) => {
    expect(requestInfo(method, url)).toMatchObject(expected);
  });
});
