import { describe, expect, it } from 'vitest';
import { runCommand } from './run-command.ts';

/** runCommand with real processes: how each way of ending reads in the error. */
describe('runCommand', () => {
  it('gives the command its input and returns its output', async () => {
    expect(await runCommand(['tr', 'a-z', 'A-Z'], 5000, 'tr', 'chain\n')).toBe('CHAIN\n');
  });

  it.each([
    [['sh', '-c', 'echo refused >&2; exit 3'], 5000, 'sh failed (exit 3): refused'],
    [['no-such-command-here'], 5000, 'no-such-command-here failed (exit ENOENT)'],
    [['sleep', '5'], 200, 'sleep failed (timed out after 0.2 s)'],
    [['sh', '-c', 'kill -KILL $$'], 5000, 'sh failed (killed by SIGKILL)'],
    [['head', '-c', '2000000', '/dev/zero'], 5000, 'head failed (output too long)'],
  ])('names how %j ended', async (argv, timeoutMs, message) => {
    await expect(runCommand(argv, timeoutMs, argv[0])).rejects.toThrow(message);
  });
});
