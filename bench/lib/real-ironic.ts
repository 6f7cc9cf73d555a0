/**
 * A real Ironic of our own for the bench (../shared/real-ironic/ironic-up in
 * a private directory on a free port), and what it takes to give it
 * fake-hardware nodes that are `manageable` and powered off.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NodeSpec } from '../../test/fixtures/fake-ironic.ts';
import { ROOT, baseEnv, freePort, waitUntil } from './processes.ts';
import { pool, request, type HttpReply } from './runs.ts';

export const REAL_IRONIC_DIR = path.resolve(ROOT, '..', 'shared', 'real-ironic');
const API_VERSION = '1.82';

/** Why the real Ironic cannot run here, or null when it can. */
export function realIronicMissing(): string | null {
  if (!existsSync(path.join(REAL_IRONIC_DIR, 'ironic-up'))) {
    return `${path.join(REAL_IRONIC_DIR, 'ironic-up')} not found`;
  }
  const found = spawnSync('sh', ['-c', 'command -v ironic && command -v ironic-dbsync'], {
    encoding: 'utf8',
  });
  if (found.status !== 0) {
    return 'Ironic is not installed (apt-get install -y ironic-api ironic-conductor)';
  }
  return null;
}

function runScript(script: string, env: Record<string, string>, log: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REAL_IRONIC_DIR, script), [], {
      env: { ...baseEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${script} exited ${code}: ${out.trim()} (${log})`)),
    );
  });
}

export interface RealIronic {
  url: string;
  dir: string;
  pid: number;
  call(method: string, p: string, body?: unknown): Promise<HttpReply>;
  stop(): Promise<void>;
}

export async function startRealIronic(inspectorUrl: string): Promise<RealIronic> {
  const port = await freePort();
  const dir = path.join(tmpdir(), `inspector-bench-ironic-${process.pid}-${port}`);
  const env = { IRONIC_DIR: dir, IRONIC_PORT: String(port), INSPECTOR_URL: inspectorUrl };
  try {
    await runScript('ironic-up', env, `logs in ${dir}`);
  } catch (err) {
    await runScript('ironic-down', { ...env, RESET: '1' }, dir).catch(() => undefined);
    throw err;
  }
  const pid = Number((await readFile(path.join(dir, 'ironic.pid'), 'utf8')).trim());
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    dir,
    pid,
    call: (method, p, body) =>
      request(`${url}${p}`, {
        method,
        headers: { 'X-OpenStack-Ironic-API-Version': API_VERSION },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    stop: () => runScript('ironic-down', { ...env, RESET: '1' }, dir),
  };
}

function ok(reply: HttpReply, what: string): HttpReply {
  if (reply.status < 200 || reply.status >= 300) {
    throw new Error(`${what}: Ironic answered ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply;
}

interface IronicNodeView {
  uuid: string;
  provision_state: string;
  power_state: string | null;
  target_power_state: string | null;
}

/**
 * Creates fake-hardware nodes with two ports each (the first PXE-enabled),
 * moves them to `manageable` and powers them off, a few at a time.
 */
export async function createManageableNodes(
  ironic: RealIronic,
  specs: readonly NodeSpec[],
  log: (msg: string) => void,
): Promise<void> {
  await pool(specs, 4, async (spec) => {
    ok(
      await ironic.call('POST', '/v1/nodes', {
        uuid: spec.uuid,
        name: spec.name,
        driver: 'fake-hardware',
        // fake-hardware ignores it; the service resolves it for its lookup index, like a real BMC's.
        driver_info: { ipmi_address: spec.bmcAddress },
      }),
      `create ${spec.name}`,
    );
    for (const [i, mac] of spec.macs.entries()) {
      ok(
        await ironic.call('POST', '/v1/ports', {
          node_uuid: spec.uuid,
          address: mac,
          pxe_enabled: i === 0,
        }),
        `create port ${mac}`,
      );
    }
    ok(
      await ironic.call('PUT', `/v1/nodes/${spec.uuid}/states/provision`, { target: 'manage' }),
      `manage ${spec.name}`,
    );
  });
  await waitUntil(
    'every node manageable',
    async () => {
      const nodes = await listNodes(ironic);
      return specs.every((s) => nodes.get(s.uuid)?.provision_state === 'manageable');
    },
    120_000,
    500,
  );
  log(`${specs.length} nodes manageable; powering them off`);
  await pool(specs, 4, async (spec) =>
    ok(
      await ironic.call('PUT', `/v1/nodes/${spec.uuid}/states/power`, { target: 'power off' }),
      `power off ${spec.name}`,
    ),
  );
  await waitUntil(
    'every node powered off',
    async () => {
      const nodes = await listNodes(ironic);
      return specs.every((s) => {
        const n = nodes.get(s.uuid);
        return n?.power_state === 'power off' && !n.target_power_state;
      });
    },
    120_000,
    500,
  );
}

/** Every node in one call: uuid, provision and power states. */
export async function listNodes(ironic: RealIronic): Promise<Map<string, IronicNodeView>> {
  const reply = ok(
    await ironic.call(
      'GET',
      '/v1/nodes?fields=uuid,provision_state,power_state,target_power_state&limit=1000',
    ),
    'list nodes',
  );
  const nodes = (reply.body as { nodes: IronicNodeView[] }).nodes;
  return new Map(nodes.map((n) => [n.uuid, n]));
}
