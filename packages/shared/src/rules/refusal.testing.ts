import { expect } from 'vitest';
import { InspectorError } from '../errors.ts';

/** The message of the 400 that `fn` throws; fails the test when it throws none, or another. */
export function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InspectorError);
    expect((error as InspectorError).status).toBe(400);
    return (error as InspectorError).message;
  }
  throw new Error('accepted, where a 400 was expected');
}
