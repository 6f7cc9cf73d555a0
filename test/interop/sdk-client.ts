/** Runs openstacksdk_client.py with Debian's python3-openstacksdk against a clouds.yaml of the test's making. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

const run = promisify(execFile);

/** Debian's interpreter: the one python3-openstacksdk is installed for (a pyenv python3 may shadow it on PATH). */
export const PYTHON = '/usr/bin/python3';
export const SDK_CLIENT = path.join(import.meta.dirname, 'openstacksdk_client.py');

/** Fails loudly without the SDK: a skipped client test proves nothing. */
export async function requireOpenstackSdk(): Promise<void> {
  try {
    await run(PYTHON, ['-c', 'import openstack']);
  } catch {
    throw new Error(
      `${PYTHON} cannot import openstack: install Debian's python3-openstacksdk (bash .ci/run does)`,
    );
  }
}

const Status = z.object({
  id: z.string(),
  state: z.string(),
  error: z.string().nullable(),
  is_finished: z.boolean(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  links: z.array(z.object({ rel: z.string(), href: z.string() })),
});

const Failure = z.object({
  exception: z.string(),
  status_code: z.number().nullable(),
  message: z.string(),
});

export const SdkReportSchema = z.object({
  sdk_version: z.string(),
  started: Status,
  waited: Status,
  fetched: Status,
  listed: z.array(Status),
  listed_paged: z.array(z.string()),
  data: z.record(z.string(), z.unknown()),
  unprocessed: z.record(z.string(), z.unknown()),
  manual_waiting: Status,
  aborted: Status,
  wait_on_error: Failure.nullable(),
  unknown: Failure.nullable(),
});
export type SdkReport = z.infer<typeof SdkReportSchema>;

export const SdkListReportSchema = z.object({
  sdk_version: z.string(),
  listed: z.array(Status).optional(),
  list_failure: Failure.optional(),
});
export type SdkListReport = z.infer<typeof SdkListReportSchema>;

/** One cloud entry of clouds.yaml (auth_type, auth, endpoint overrides...). */
export type CloudConfig = Record<string, unknown>;

export interface SdkRun {
  cloud: CloudConfig;
  node: string;
  manualNode: string;
  unknown: string;
}

async function runScript(cloud: CloudConfig, args: string[]): Promise<unknown> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sdk-interop-'));
  try {
    const config = path.join(dir, 'clouds.yaml');
    // JSON is YAML; a HOME of its own keeps any ~/.config/openstack out of the run.
    await writeFile(config, JSON.stringify({ clouds: { interop: cloud } }));
    let stdout: string;
    try {
      ({ stdout } = await run(PYTHON, [SDK_CLIENT, '--cloud', 'interop', ...args], {
        env: { PATH: '/usr/bin:/bin', HOME: dir, OS_CLIENT_CONFIG_FILE: config },
        timeout: 150_000,
      }));
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(
        `openstacksdk client failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`,
      );
    }
    return JSON.parse(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The whole flow: start, wait, get, list, data, manage_boot=False, abort, unknown node. */
export async function runSdkClient(opts: SdkRun): Promise<SdkReport> {
  const args = ['--node', opts.node, '--manual-node', opts.manualNode, '--unknown', opts.unknown];
  return SdkReportSchema.parse(await runScript(opts.cloud, args));
}

/** Only the list call, for callers the service must refuse. */
export async function runSdkList(cloud: CloudConfig): Promise<SdkListReport> {
  return SdkListReportSchema.parse(await runScript(cloud, ['--list-only']));
}
