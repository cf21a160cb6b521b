import { describe, expect, it } from 'vitest';
import { isGatewayError } from './errors.ts';
import { ExportTable } from './export-table.ts';

const web = { namespace: 'shop', name: 'web', ports: [{ port: 80, backends: ['10.1.0.5:8080', '[fd00::5]:8080'] }, { port: 443, protocol: 'TCP', backends: ['10.1.0.5:8443'] }] };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isGatewayError(e) ? e.code : `not a GatewayError: ${String(e)}`;
  }
  return undefined;
}

describe('ExportTable (what a receiving gateway may reach)', () => {
  const table = ExportTable.from([web]);

  it('maps an exported service and port to its backends', () => {
    expect(table.lookup({ namespace: 'shop', name: 'web', port: 80 })).toEqual({
      ok: true, service: 'shop/web', backends: [{ host: '10.1.0.5', port: 8080 }, { host: 'fd00::5', port: 8080 }],
    });
  });

  it('refuses an unexported service as not-exported and an unexported port as port-not-exported', () => {
    expect(table.lookup({ namespace: 'shop', name: 'db', port: 80 })).toEqual({ ok: false, reason: 'not-exported' });
    expect(table.lookup({ namespace: 'other', name: 'web', port: 80 })).toEqual({ ok: false, reason: 'not-exported' });
    expect(table.lookup({ namespace: 'shop', name: 'web', port: 22 })).toEqual({ ok: false, reason: 'port-not-exported' });
  });

  it('an empty table refuses everything', () => {
    expect(ExportTable.empty().lookup({ namespace: 'shop', name: 'web', port: 80 })).toEqual({ ok: false, reason: 'not-exported' });
  });

  it('refuses UDP and SCTP ports when the table is built (PLX_GATEWAY_UDP_UNSUPPORTED), not at the first datagram', () => {
    expect(codeOf(() => ExportTable.from([{ namespace: 'kube-system', name: 'dns', ports: [{ port: 53, protocol: 'UDP', backends: ['10.0.0.10:53'] }] }]))).toBe('PLX_GATEWAY_UDP_UNSUPPORTED');
    expect(codeOf(() => ExportTable.from([{ namespace: 'a', name: 's', ports: [{ port: 9, protocol: 'SCTP', backends: ['10.0.0.1:9'] }] }]))).toBe('PLX_GATEWAY_UDP_UNSUPPORTED');
  });

  it.each([
    ['a bad namespace', [{ ...web, namespace: 'Shop' }]],
    ['a bad name', [{ ...web, name: '1web' }]],
    ['a port out of range', [{ ...web, ports: [{ port: 0, backends: ['10.0.0.1:1'] }] }]],
    ['a backend without a port', [{ ...web, ports: [{ port: 80, backends: ['10.0.0.1'] }] }]],
    ['a backend port out of range', [{ ...web, ports: [{ port: 80, backends: ['10.0.0.1:70000'] }] }]],
    ['no backends', [{ ...web, ports: [{ port: 80, backends: [] }] }]],
    ['no ports', [{ ...web, ports: [] }]],
    ['an unknown field', [{ ...web, extra: true }]],
    ['a service twice', [web, web]],
    ['a port twice', [{ ...web, ports: [{ port: 80, backends: ['10.0.0.1:1'] }, { port: 80, backends: ['10.0.0.2:1'] }] }]],
    ['not a list', { web }],
  ])('refuses %s with PLX_GATEWAY_BAD_EXPORTS', (_what, input) => {
    expect(codeOf(() => ExportTable.from(input))).toBe('PLX_GATEWAY_BAD_EXPORTS');
  });

  it('names every problem at once', () => {
    try {
      ExportTable.from([{ ...web, namespace: 'Shop', name: '1web' }]);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/0\.namespace/);
      expect((e as Error).message).toMatch(/0\.name/);
    }
  });
});
