import { describe, expect, it } from 'vitest';
import { STATES, TRANSITIONS, canTransition, transitionMessage } from './state-machine.ts';

describe('state machine', () => {
  it('restarts from waiting, finished and error', () => {
    for (const s of ['waiting', 'finished', 'error'] as const)
      expect(canTransition(s, 'start')).toBe(true);
    for (const s of ['starting', 'processing', 'reapplying', 'aborting'] as const) {
      expect(canTransition(s, 'start')).toBe(false);
    }
  });
  it('lets a waiting node fail (the gap upstream left open)', () => {
    expect(canTransition('waiting', 'error')).toBe(true);
  });
  it('times out every non-terminal state and no terminal one', () => {
    for (const s of STATES) {
      expect(canTransition(s, 'timeout')).toBe(s !== 'finished' && s !== 'error');
    }
  });
  it('only processes nodes that wait for data', () => {
    const from = STATES.filter((s) => canTransition(s, 'process'));
    expect(from.sort()).toEqual(['enrolling', 'waiting']);
  });
  it('every transition leads to a known state', () => {
    for (const t of Object.values(TRANSITIONS)) expect(STATES).toContain(t.to);
  });
  it('names the state and event when refusing', () => {
    expect(transitionMessage('finished', 'abort')).toBe(
      "Can not transition from state 'finished' on event 'abort' (no defined transition)",
    );
  });
});
