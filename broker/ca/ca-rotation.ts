// CA rollover, applied: `ca rotate` runs one step of the state machine in phases.ts, and
// `ca status` reports where the fleet is. A step is done in this order, so nothing is left
// half-written: create files (a new root's key), commit the store in one atomic step (a
// compare-and-set on the state it was planned from, so two replicas cannot both step),
// then remove files that are no longer needed, then make the running broker use it
// (LiveCa, the admin bundle and certificate, and `onChange`: the TLS server's context and
// serving certificate). If the commit fails, the files it would have used are removed.
import type { Logger } from 'pino';
import { CLOCK_SKEW_MS, createRootCa, type CertificateAuthority } from '../../certs/ca.ts';
import { nodeKeyOf } from '../../certs/keys.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import type {
  AdminIdentityRequest, AdminIdentityResponse, CaClusterInfo, CaPhase, CaRootInfo, CaRotateResponse, CaStatus, TrustBundleAckResponse,
} from '../api/ca.ts';
import { issueAdminIdentity } from './admin-identity-issuer.ts';
import type { Clock } from '../clock.ts';
import type { DataDirLayout } from '../data-dir.ts';
import { BrokerError } from '../errors.ts';
import { readDataFile } from '../data-dir.ts';
import type { CaCommit, CaRolloverRecord, CaRootRecord, CaStore, ClusterTrustRecord } from './ca-store.ts';
import { LiveCa, type CaMaterial } from './live-ca.ts';
import { applyStep, laggingFor, phaseNames, planRotation, type RolloverFacts, type RolloverState, type RotateInput } from './phases.ts';
import { loadRootCa, removeRootFiles, syncAdminFiles, writeRootFiles } from './root-files.ts';

/** What CA rollover needs from durable state: the clusterset its roots are for, and its own records. */
export interface CaRotationStore {
  readonly clusterset: string;
  readonly ca: CaStore;
}

export interface CaRotationDeps {
  readonly layout: DataDirLayout;
  readonly store: CaRotationStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Person certificates from a root stay valid this long after it stops issuing. */
  readonly userCertLifetimeSeconds: number;
  /** Makes the running servers use new material (secure context, serving certificate). */
  readonly onChange?: (m: CaMaterial) => Promise<void>;
  /** Sets the rollover phase gauge (BrokerMetrics.caPhase). */
  readonly phaseGauge?: { set(value: number): void };
}

export class CaRotation {
  readonly live: LiveCa;
  readonly #d: CaRotationDeps;
  readonly #cas: Map<number, CertificateAuthority>;
  #queue: Promise<unknown> = Promise.resolve();

  /** Seeds the store from D/ca/root.* on first start, then loads the issuing root and the bundle. */
  static async open(d: CaRotationDeps): Promise<CaRotation> {
    if (!(await d.store.ca.rollover())) {
      const certPem = readDataFile(d.layout.caCert, 'root CA certificate');
      const root = await loadRootCa(d.layout, certPem, 'ca/root.key');
      await d.store.ca.seed({ fingerprint: fingerprintSha256(root.cert), certPem: root.certPem, keyFile: 'ca/root.key', createdAt: root.cert.notBefore }, d.clock.now());
    }
    const cache = new Map<number, CertificateAuthority>();
    const material = await loadMaterial(d, cache);
    await syncAdminFiles(d.layout, material.issuing, material.bundle.toPem(), d.store.clusterset, d.clock.now());
    const rotation = new CaRotation(d, material, cache);
    d.phaseGauge?.set((await d.store.ca.rollover())!.phase);
    return rotation;
  }

  private constructor(d: CaRotationDeps, material: CaMaterial, cache: Map<number, CertificateAuthority>) {
    this.#d = d;
    this.#cas = cache;
    this.live = new LiveCa(material);
  }

  /** One `ca rotate` request; requests run one at a time. */
  rotate(input: RotateInput): Promise<CaRotateResponse> {
    const run = this.#queue.then(() => this.#rotate(input));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Records which roots a cluster trusts; answers with the bundle and the issuing root. */
  async acknowledge(cluster: string, fingerprints: readonly string[]): Promise<TrustBundleAckResponse> {
    await this.#d.store.ca.recordAck(cluster, fingerprints, this.#d.clock.now());
    return this.live.trustBundleResponse(this.#d.store.clusterset);
  }

  /** The admin identity from the issuing root, for the key of `body.csr` (admin-identity-issuer.ts). */
  issueAdminIdentity(body: AdminIdentityRequest): Promise<AdminIdentityResponse> {
    return issueAdminIdentity({ clusterset: this.#d.store.clusterset, now: this.#d.clock.now(), issuing: this.live.issuing, bundlePem: this.live.bundle.toPem() }, body);
  }

  async status(): Promise<CaStatus> {
    const { store } = this.#d;
    const { state, rollover, roots } = await this.#state();
    const trust = await store.ca.clusterTrust();
    const facts = this.#facts(state, rollover, roots, trust);
    const next = state.phase === 0 || state.phase === 5 ? [] : laggingFor((state.phase + 1) as CaPhase, facts);
    return {
      phase: state.phase,
      phaseName: phaseNames[state.phase],
      issuingFingerprint: this.live.issuingFingerprint,
      bundleFingerprints: this.live.bundle.fingerprints(),
      roots: roots.map((r) => rootInfo(r, state)),
      clusters: trust.map((t) => clusterInfo(t, state, roots, this.live.bundle.fingerprints())),
      lagging: [...next],
      oldUserCertsValidUntil: state.phase >= 3 && state.old !== null ? this.#oldUserCertsValidUntil(rollover.issuingSince).toISOString() : null,
      history: (await store.ca.history(20)).map((h) => ({ ...h, at: h.at.toISOString() })),
    };
  }

  async #rotate(input: RotateInput): Promise<CaRotateResponse> {
    const { state, rollover, roots } = await this.#state();
    const plan = planRotation(state, input, this.#facts(state, rollover, roots, await this.#d.store.ca.clusterTrust()));
    if (plan.kind === 'noop') return { changed: false, message: plan.message, status: await this.status() };
    const now = this.#d.clock.now();
    let created: CaRootRecord | undefined;
    if (plan.action === 'advance' && plan.to === 1) created = await this.#createRoot(roots, now);
    const next = applyStep(state, plan, created?.generation);
    const dropped = plan.action === 'rollback' && plan.from === 1 ? roots.find((r) => r.generation === state.new) : undefined;
    // Starting a new rollover ends the previous one's chance of rollback: its old root's key goes.
    const destroy = plan.action === 'advance' && plan.to === 1 ? roots.filter((r) => !r.inBundle && r.keyFile !== '') : [];
    const detail = describe(plan, next, roots, created);
    const commit: CaCommit = {
      expected: { phase: state.phase, issuing: state.issuing, old: state.old, new: state.new },
      rollover: { phase: next.phase, issuing: next.issuing, old: next.old, new: next.new }, bundle: next.bundle,
      ...(created ? { addRoot: created } : {}), ...(dropped ? { dropRoot: dropped.generation } : {}),
      destroyKeysOf: destroy.map((r) => r.generation),
      history: { at: now, action: plan.action, from: plan.from, to: plan.to, forced: plan.forced, detail },
    };
    try {
      if (next.issuing !== state.issuing) await this.#ca(next.issuing, [...roots, ...(created ? [created] : [])]);
      // Compare-and-set on the state planned from: another replica's step in between wins, this one changes nothing.
      if (!(await this.#d.store.ca.commit(commit, now))) {
        throw new BrokerError('PLX_BROKER_CONFLICT', 'the CA rollover changed while this step was planned; run `plexus broker ca status` and retry');
      }
    } catch (e) {
      if (created) removeRootFiles(this.#d.layout, created.keyFile, { certificate: true });
      throw e;
    }
    // A retired root's certificate stays for operators; a dropped one never mattered.
    for (const r of destroy) removeRootFiles(this.#d.layout, r.keyFile, { certificate: false });
    if (dropped) removeRootFiles(this.#d.layout, dropped.keyFile, { certificate: true });
    for (const r of [...destroy, ...(dropped ? [dropped] : [])]) this.#cas.delete(r.generation);
    this.#d.logger.info({ action: plan.action, from: plan.from, to: plan.to, forced: plan.forced, lagging: plan.lagging }, `CA rollover: ${detail}`);
    await this.#apply();
    this.#d.phaseGauge?.set(next.phase);
    return { changed: true, message: `phase ${plan.from} → ${plan.to}: ${detail}`, status: await this.status() };
  }

  async #createRoot(roots: readonly CaRootRecord[], now: Date): Promise<CaRootRecord> {
    const generation = Math.max(0, ...roots.map((r) => r.generation)) + 1;
    // The new root uses the key algorithm of the one it replaces (P-256 or RSA-2048).
    const algorithm = nodeKeyOf(this.live.issuing.key).algorithm;
    const { ca, keyPem } = await createRootCa({ clusterset: this.#d.store.clusterset, now, algorithm });
    const keyFile = writeRootFiles(this.#d.layout, generation, ca.certPem, keyPem);
    this.#cas.set(generation, ca);
    return { generation, fingerprint: fingerprintSha256(ca.cert), certPem: ca.certPem, keyFile, createdAt: now, inBundle: true, issued: false };
  }

  /** Makes the process use the committed state: LiveCa, admin files, servers. */
  async #apply(): Promise<void> {
    const material = await loadMaterial(this.#d, this.#cas);
    this.live.set(material);
    await syncAdminFiles(this.#d.layout, material.issuing, material.bundle.toPem(), this.#d.store.clusterset, this.#d.clock.now());
    await this.#d.onChange?.(material);
  }

  #ca(generation: number, roots: readonly CaRootRecord[]): Promise<CertificateAuthority> {
    return cachedCa(this.#d, this.#cas, generation, roots);
  }

  async #state(): Promise<{ state: RolloverState; rollover: CaRolloverRecord; roots: CaRootRecord[] }> {
    const rollover = (await this.#d.store.ca.rollover())!;
    const roots = await this.#d.store.ca.roots();
    const bundle = roots.filter((x) => x.inBundle).map((x) => x.generation);
    return { state: { phase: rollover.phase, issuing: rollover.issuing, bundle, old: rollover.old, new: rollover.new }, rollover, roots };
  }

  #oldUserCertsValidUntil(issuingSince: Date): Date {
    return new Date(issuingSince.getTime() + this.#d.userCertLifetimeSeconds * 1000 + CLOCK_SKEW_MS);
  }

  #facts(state: RolloverState, rollover: CaRolloverRecord, roots: readonly CaRootRecord[], trust: readonly ClusterTrustRecord[]): RolloverFacts {
    const fresh = roots.find((r) => r.generation === state.new);
    if (!fresh) return { laggingAcks: [], laggingIdentities: [], newRootIssued: false };
    const now = this.#d.clock.now();
    // People fetch the bundle and certificates only when they log in or renew: one
    // person-certificate lifetime after a change, everyone still able to call anything has it.
    const peopleUntil = this.#oldUserCertsValidUntil(fresh.createdAt);
    const certsUntil = this.#oldUserCertsValidUntil(rollover.issuingSince);
    return {
      laggingAcks: trust.filter((t) => !t.ackedFingerprints.includes(fresh.fingerprint)).map((t) => t.cluster),
      ...(now < peopleUntil ? { laggingPeopleBundles: `people's trust bundles from before the new root (until ${peopleUntil.toISOString()})` } : {}),
      laggingIdentities: trust.filter((t) => t.issuer !== fresh.fingerprint).map((t) => t.cluster),
      ...(state.issuing === state.new && now < certsUntil ? { laggingPeopleCerts: `person certificates from the old root (valid until ${certsUntil.toISOString()})` } : {}),
      newRootIssued: fresh.issued,
    };
  }
}

async function cachedCa(d: CaRotationDeps, cache: Map<number, CertificateAuthority>, generation: number, roots: readonly CaRootRecord[]): Promise<CertificateAuthority> {
  const hit = cache.get(generation);
  if (hit) return hit;
  const root = roots.find((r) => r.generation === generation);
  if (!root) throw new Error(`no root of generation ${generation}`);
  const ca = await loadRootCa(d.layout, root.certPem, root.keyFile);
  cache.set(generation, ca);
  return ca;
}

async function loadMaterial(d: CaRotationDeps, cache: Map<number, CertificateAuthority>): Promise<CaMaterial> {
  const roots = await d.store.ca.roots();
  const rollover = (await d.store.ca.rollover())!;
  const bundle = TrustBundle.fromPem(roots.filter((r) => r.inBundle).map((r) => r.certPem).join(''));
  return { issuing: await cachedCa(d, cache, rollover.issuing, roots), bundle };
}

function rootInfo(r: CaRootRecord, s: RolloverState): CaRootInfo {
  const role = !r.inBundle ? 'retired' : r.generation === s.new ? 'new' : r.generation === s.old && s.phase !== 0 ? 'old' : 'current';
  return {
    generation: r.generation, fingerprint: r.fingerprint, notAfter: TrustBundle.fromPem(r.certPem).roots[0]!.notAfter.toISOString(),
    inBundle: r.inBundle, issuing: r.generation === s.issuing, role,
  };
}

function clusterInfo(t: ClusterTrustRecord, s: RolloverState, roots: readonly CaRootRecord[], bundle: readonly string[]): CaClusterInfo {
  const acked = new Set(t.ackedFingerprints);
  const hasBundle = acked.size === bundle.length && bundle.every((f) => acked.has(f));
  const newFp = roots.find((r) => r.generation === s.new)?.fingerprint;
  const issuingFp = roots.find((r) => r.generation === s.issuing)?.fingerprint;
  const hasNew = newFp === undefined || acked.has(newFp);
  const target = s.phase >= 3 ? newFp ?? issuingFp : issuingFp;
  const issuerGeneration = roots.find((r) => r.fingerprint === t.issuer)?.generation ?? null;
  const lagging = s.phase === 0 || s.phase === 5 ? !hasBundle || t.issuer !== issuingFp : !hasNew || (s.phase >= 3 && t.issuer !== target);
  return { id: t.cluster, hasBundle, ackedFingerprints: [...t.ackedFingerprints], ackedAt: t.ackedAt?.toISOString() ?? null, issuer: t.issuer, issuerGeneration, lagging };
}

function describe(plan: { action: string; from: number; to: number; forced: boolean; lagging: readonly string[] }, next: RolloverState,
  roots: readonly CaRootRecord[], created: CaRootRecord | undefined): string {
  const name = (g: number | null) => `root ${g} (${roots.find((r) => r.generation === g)?.fingerprint ?? created?.fingerprint})`;
  const forced = plan.forced ? `; forced past ${plan.lagging.join(', ')}` : '';
  if (plan.action === 'advance') {
    const what = { 1: `${name(next.new)} added to the bundle`, 2: 'every agent has the new bundle', 3: `issuing from ${name(next.new)}`,
      4: 'every identity re-issued', 5: `${name(next.old)} removed from the bundle` }[plan.to as 1 | 2 | 3 | 4 | 5];
    return what + forced;
  }
  const undo = { 1: 'new root removed from the bundle', 2: 'back to waiting for agents to take the new bundle',
    3: `issuing from ${name(next.issuing)} again`, 4: 'back to waiting for identities to be re-issued', 5: `${name(next.old)} back in the bundle` }[plan.from as 1 | 2 | 3 | 4 | 5];
  return undo;
}
