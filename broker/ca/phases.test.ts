import { describe, expect, it } from 'vitest';
import type { CaPhase } from '../api/ca.ts';
import { BrokerError } from '../errors.ts';
import { applyStep, laggingFor, planRotation, type RolloverFacts, type RolloverState } from './phases.ts';

const idle: RolloverState = { phase: 0, issuing: 1, bundle: [1], old: null, new: null };
const clear: RolloverFacts = { laggingAcks: [], laggingIdentities: [], newRootIssued: false };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof BrokerError ? e.code : 'not a BrokerError';
  }
  return undefined;
}

/** Runs plain `ca rotate` (next phase) until `phase`, with nothing lagging. */
function advanceTo(phase: CaPhase, start: RolloverState = idle): RolloverState {
  let s = start;
  while (s.phase !== phase) {
    const plan = planRotation(s, { rollback: false, force: false }, clear);
    if (plan.kind !== 'step') throw new Error('expected a step');
    s = applyStep(s, plan, plan.to === 1 ? Math.max(...s.bundle) + 1 : undefined);
  }
  return s;
}

describe('CA rollover phases', () => {
  it('walks 0→5: adds the new root, switches issuing at 3, drops the old root at 5', () => {
    expect(advanceTo(1)).toEqual({ phase: 1, issuing: 1, bundle: [1, 2], old: 1, new: 2 });
    expect(advanceTo(2)).toMatchObject({ issuing: 1, bundle: [1, 2] });
    expect(advanceTo(3)).toMatchObject({ issuing: 2, bundle: [1, 2] });
    expect(advanceTo(4)).toMatchObject({ issuing: 2, bundle: [1, 2] });
    expect(advanceTo(5)).toEqual({ phase: 5, issuing: 2, bundle: [2], old: 1, new: 2 });
  });

  it('a plain rotate after phase 5 starts the next rollover from the new root', () => {
    const s = advanceTo(5);
    const plan = planRotation(s, { rollback: false, force: false }, clear);
    expect(plan).toMatchObject({ kind: 'step', from: 5, to: 1 });
    expect(applyStep(s, { action: 'advance', to: 1 }, 3)).toEqual({ phase: 1, issuing: 2, bundle: [2, 3], old: 2, new: 3 });
  });

  it('re-running a phase that is done is a no-op', () => {
    for (const done of [1, 2, 3, 4, 5] as const) {
      const s = advanceTo(done);
      for (let p = 1; p <= done; p++) expect(planRotation(s, { phase: p, rollback: false, force: false }, clear).kind).toBe('noop');
    }
  });

  it('refuses to skip a phase', () => {
    expect(codeOf(() => planRotation(idle, { phase: 2, rollback: false, force: false }, clear))).toBe('PLX_BROKER_CA_PHASE_ORDER');
    expect(codeOf(() => planRotation(advanceTo(2), { phase: 4, rollback: false, force: false }, clear))).toBe('PLX_BROKER_CA_PHASE_ORDER');
  });

  it('refuses to leave a wait phase while clusters lag, naming them, unless forced', () => {
    const late: RolloverFacts = { ...clear, laggingAcks: ['east-1'], laggingIdentities: ['west-2'] };
    for (const [at, who] of [[1, 'east-1'], [2, 'east-1'], [3, 'west-2'], [4, 'west-2']] as const) {
      const s = advanceTo(at);
      try {
        planRotation(s, { rollback: false, force: false }, late);
        expect.unreachable();
      } catch (e) {
        expect((e as BrokerError).code).toBe('PLX_BROKER_CA_LAGGING');
        expect((e as BrokerError).details).toMatchObject({ lagging: [who] });
      }
      expect(planRotation(s, { rollback: false, force: true }, late)).toMatchObject({ kind: 'step', forced: true, lagging: [who] });
    }
  });

  it('waits for people by time at 2 and 4, and does not re-check that at 3 and 5', () => {
    const people: RolloverFacts = { ...clear, laggingPeopleBundles: 'bundles until T', laggingPeopleCerts: 'certs until T' };
    expect(codeOf(() => planRotation(advanceTo(1), { rollback: false, force: false }, people))).toBe('PLX_BROKER_CA_LAGGING');
    expect(planRotation(advanceTo(2), { rollback: false, force: false }, people)).toMatchObject({ to: 3, forced: false });
    expect(codeOf(() => planRotation(advanceTo(3), { rollback: false, force: false }, people))).toBe('PLX_BROKER_CA_LAGGING');
    expect(planRotation(advanceTo(4), { rollback: false, force: false }, people)).toMatchObject({ to: 5, forced: false });
    expect(laggingFor(2, { ...people, laggingAcks: ['a'] })).toEqual(['a', 'bundles until T']);
    expect(laggingFor(4, { ...people, laggingIdentities: ['b'] })).toEqual(['b', 'certs until T']);
  });

  it('phase 1 does not wait on anything', () => {
    const late: RolloverFacts = { ...clear, laggingAcks: ['a'], laggingIdentities: ['b'] };
    expect(planRotation(idle, { rollback: false, force: false }, late)).toMatchObject({ to: 1, forced: false });
  });

  it('rolls back each phase to the state before it', () => {
    for (const done of [1, 2, 3, 4, 5] as const) {
      const before = advanceTo((done - 1) as CaPhase);
      const after = advanceTo(done);
      const plan = planRotation(after, { rollback: true, force: false }, clear);
      expect(plan).toMatchObject({ kind: 'step', action: 'rollback', from: done, to: done - 1 });
      const back = applyStep(after, plan as { action: 'rollback'; to: CaPhase });
      expect(back.phase).toBe(before.phase);
      expect(back.issuing).toBe(before.issuing);
      expect(back.bundle).toEqual(before.bundle);
    }
  });

  it('refuses to drop the new root at 1↶ once it issued, and to roll back when idle', () => {
    const issued = { ...clear, newRootIssued: true };
    expect(codeOf(() => planRotation(advanceTo(1), { rollback: true, force: true }, issued))).toBe('PLX_BROKER_CA_ROLLBACK_REFUSED');
    expect(codeOf(() => planRotation(idle, { rollback: true, force: false }, clear))).toBe('PLX_BROKER_CA_ROLLBACK_REFUSED');
  });

  it('rollback of a named phase: no-op when not done, refused when a later phase is done', () => {
    expect(planRotation(advanceTo(2), { phase: 3, rollback: true, force: false }, clear).kind).toBe('noop');
    expect(codeOf(() => planRotation(advanceTo(3), { phase: 2, rollback: true, force: false }, clear))).toBe('PLX_BROKER_CA_PHASE_ORDER');
  });
});
