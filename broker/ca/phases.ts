// The CA rollover state machine, pure: which step a `ca rotate` request asks for, whether it
// may run, and the state after it. No I/O; CaRotation (ca-rotation.ts) gathers the facts,
// applies the effects (files, store, live TLS) and records the result.
//
//   0 idle ─1→ new root in bundle ─2→ every agent has it ─3→ issuing from it
//          ─4→ every identity re-issued ─5→ old root out of the bundle (complete)
//
// Phases 2 and 4 are "wait" phases: they change nothing but refuse to complete while a
// cluster lags (PLX_BROKER_CA_LAGGING), unless forced. People are waited for by time (they
// get the bundle and certificates only when they log in or renew, which the broker cannot
// see per person): 2 waits one person-certificate lifetime after the new root joined the
// bundle, 4 one lifetime after issuing switched. Entering 3 re-checks 2's cluster condition
// and entering 5 re-checks 4's, so a cluster that joined or fell behind in between is
// caught; the time-based waits are not re-checked (time only moves them closer).
import type { CaPhase } from '../api/ca.ts';
import { BrokerError } from '../errors.ts';

export interface RolloverState {
  readonly phase: CaPhase;
  /** Generation of the root that issues certificates. */
  readonly issuing: number;
  /** Generations of the roots in the trust bundle, oldest first. */
  readonly bundle: readonly number[];
  /** The root being replaced and its replacement (null before the first rollover). */
  readonly old: number | null;
  readonly new: number | null;
}

export interface RolloverFacts {
  /** Clusters that have not acknowledged a bundle holding the new root. */
  readonly laggingAcks: readonly string[];
  /** Set while people may hold a bundle from before the new root (names the time it ends). */
  readonly laggingPeopleBundles?: string;
  /** Clusters whose newest certificate does not come from the new root. */
  readonly laggingIdentities: readonly string[];
  /** Set while person certificates from the old root may still be valid. */
  readonly laggingPeopleCerts?: string;
  /** Something was ever issued from the new root, so it cannot leave the bundle again. */
  readonly newRootIssued: boolean;
}

export interface RotateInput {
  readonly phase?: number;
  readonly rollback: boolean;
  readonly force: boolean;
}

export type Plan =
  | { readonly kind: 'noop'; readonly message: string }
  | { readonly kind: 'step'; readonly action: 'advance' | 'rollback'; readonly from: CaPhase; readonly to: CaPhase; readonly forced: boolean; readonly lagging: readonly string[] };

export const phaseNames: Record<CaPhase, string> = {
  0: 'idle (one root)',
  1: 'new root added to the bundle',
  2: 'every agent has the new bundle',
  3: 'issuing from the new root',
  4: 'every identity re-issued',
  5: 'old root removed (rollover complete)',
};

/** What holds up entering phase `to`. */
export function laggingFor(to: CaPhase, facts: RolloverFacts): readonly string[] {
  const people = (s: string | undefined) => (s === undefined ? [] : [s]);
  if (to === 2) return [...facts.laggingAcks, ...people(facts.laggingPeopleBundles)];
  if (to === 3) return facts.laggingAcks;
  if (to === 4) return [...facts.laggingIdentities, ...people(facts.laggingPeopleCerts)];
  if (to === 5) return facts.laggingIdentities;
  return [];
}

function planAdvance(state: RolloverState, input: RotateInput, facts: RolloverFacts): Plan {
  const from = state.phase;
  if (input.phase !== undefined && from !== 0 && input.phase <= from) {
    return { kind: 'noop', message: `phase ${input.phase} (${phaseNames[input.phase as CaPhase]}) is already done; the rollover is in phase ${from}` };
  }
  // A finished rollover (5) starts over at 1 with a fresh root.
  const to = (from === 5 ? 1 : from + 1) as CaPhase;
  if (input.phase !== undefined && input.phase !== to) {
    throw new BrokerError('PLX_BROKER_CA_PHASE_ORDER', `cannot run phase ${input.phase}: the rollover is in phase ${from}, the next phase is ${to}`,
      { details: { phase: from, next: to } });
  }
  const late = laggingFor(to, facts);
  if (late.length > 0 && !input.force) {
    throw new BrokerError('PLX_BROKER_CA_LAGGING', `phase ${to} must wait for: ${late.join(', ')} (or use --force)`,
      { details: { phase: from, next: to, lagging: late } });
  }
  return { kind: 'step', action: 'advance', from, to, forced: late.length > 0, lagging: late };
}

function planRollback(state: RolloverState, input: RotateInput, facts: RolloverFacts): Plan {
  const from = state.phase;
  if (input.phase !== undefined && input.phase > from) {
    return { kind: 'noop', message: `phase ${input.phase} is not done (the rollover is in phase ${from}); nothing to roll back` };
  }
  if (from === 0) throw new BrokerError('PLX_BROKER_CA_ROLLBACK_REFUSED', 'no rollover is under way; nothing to roll back');
  if (input.phase !== undefined && input.phase !== from) {
    throw new BrokerError('PLX_BROKER_CA_PHASE_ORDER', `cannot roll back phase ${input.phase}: roll back phase ${from} first`, { details: { phase: from } });
  }
  if (from === 1 && facts.newRootIssued) {
    throw new BrokerError('PLX_BROKER_CA_ROLLBACK_REFUSED',
      'the new root has issued certificates, so it must stay in the bundle: roll forward instead');
  }
  return { kind: 'step', action: 'rollback', from, to: (from - 1) as CaPhase, forced: false, lagging: [] };
}

/** What a `ca rotate` request means in this state; throws the stable error when it may not run. */
export function planRotation(state: RolloverState, input: RotateInput, facts: RolloverFacts): Plan {
  return input.rollback ? planRollback(state, input, facts) : planAdvance(state, input, facts);
}

/**
 * The state after a step. Advancing to 1 needs the generation of the freshly created root.
 * Effects: 1 adds the new root to the bundle (1↶ removes it), 3 switches issuing to it
 * (3↶ switches back), 5 removes the old root (5↶ puts it back). 2 and 4 only record.
 */
export function applyStep(state: RolloverState, step: { action: 'advance' | 'rollback'; to: CaPhase }, newGeneration?: number): RolloverState {
  const s = { ...state, phase: step.to };
  if (step.action === 'advance') {
    if (step.to === 1) {
      if (newGeneration === undefined) throw new BrokerError('PLX_BROKER_INTERNAL', 'phase 1 needs the new root');
      return { ...s, old: state.issuing, new: newGeneration, bundle: [...state.bundle, newGeneration] };
    }
    if (step.to === 3) return { ...s, issuing: state.new! };
    if (step.to === 5) return { ...s, bundle: state.bundle.filter((g) => g !== state.old) };
    return s;
  }
  if (state.phase === 1) return { ...s, new: null, old: null, bundle: state.bundle.filter((g) => g !== state.new) };
  if (state.phase === 3) return { ...s, issuing: state.old! };
  if (state.phase === 5) return { ...s, bundle: [...state.bundle, state.old!].sort((a, b) => a - b) };
  return s;
}
