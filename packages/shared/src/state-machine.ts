import { z } from 'zod';

export const STATES = [
  'starting',
  'waiting',
  'processing',
  'finished',
  'error',
  'reapplying',
  'aborting',
  'enrolling',
] as const;
export const StateSchema = z.enum(STATES);
export type State = z.infer<typeof StateSchema>;

export const TERMINAL_STATES: ReadonlySet<State> = new Set(['finished', 'error']);

/**
 * Upstream's introspection state machine, with its gap closed: a failure is
 * allowed from every non-terminal state (upstream had no waiting -> error, so
 * a ramdisk error left the node waiting until the timeout).
 */
const ACTIVE: State[] = [
  'starting',
  'waiting',
  'processing',
  'reapplying',
  'enrolling',
  'aborting',
];
export const TRANSITIONS = {
  start: { from: ['waiting', 'finished', 'error'], to: 'starting' },
  wait: { from: ['starting'], to: 'waiting' },
  process: { from: ['waiting', 'enrolling'], to: 'processing' },
  finish: { from: ['processing', 'reapplying'], to: 'finished' },
  reapply: { from: ['finished', 'error'], to: 'reapplying' },
  abort: { from: ['starting', 'waiting'], to: 'aborting' },
  abort_end: { from: ['aborting'], to: 'error' },
  error: { from: ACTIVE, to: 'error' },
  timeout: { from: ACTIVE, to: 'error' },
} as const satisfies Record<string, { from: readonly State[]; to: State }>;

export type StateEvent = keyof typeof TRANSITIONS;

/** Whether `event` may happen in state `from`; the store's transition script decides for good. */
export function canTransition(from: State, event: StateEvent): boolean {
  return (TRANSITIONS[event].from as readonly State[]).includes(from);
}

export function transitionMessage(from: State, event: StateEvent): string {
  return `Can not transition from state '${from}' on event '${event}' (no defined transition)`;
}
