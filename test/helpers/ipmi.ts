import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Plain ipmitool against a simulated BMC, the way an operator would check it. */
export async function ipmitool(
  port: number,
  user: string,
  password: string,
  ...command: string[]
): Promise<{ ok: boolean; out: string }> {
  const args = [
    '-I',
    'lanplus',
    '-C',
    '3',
    '-H',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    user,
    '-E',
  ];
  try {
    const { stdout } = await run('ipmitool', [...args, '-N', '1', '-R', '2', ...command], {
      env: { PATH: process.env.PATH, IPMI_PASSWORD: password },
    });
    return { ok: true, out: stdout.trim() };
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: string }).stderr ?? err) };
  }
}
