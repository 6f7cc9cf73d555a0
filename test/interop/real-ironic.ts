/**
 * Debian's Ironic (21.4) for interop tests, started by shared/real-ironic/ironic-up
 * in a directory and on a port of its own, plus the few Ironic API calls the
 * tests need to enrol nodes and watch them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { NodeSpec } from '../fixtures/fake-ironic.ts';
import { keystoneToken } from '../fixtures/fake-keystone.ts';
import { ROOT, requireExecutables, waitUntil } from '../helpers/processes.ts';

const run = promisify(execFile);

const SCRIPTS = path.resolve(ROOT, '../shared/real-ironic');
export const IRONIC_UP = process.env.IRONIC_UP ?? path.join(SCRIPTS, 'ironic-up');
export const IRONIC_DOWN = process.env.IRONIC_DOWN ?? path.join(SCRIPTS, 'ironic-down');
export const IRONIC_API_VERSION = '1.82';

/** Fails loudly when Ironic or its start script is missing: REAL_IRONIC=1 asked for this suite. */
export function requireRealIronic(): void {
  requireExecutables(
    [IRONIC_UP, IRONIC_DOWN, '/usr/bin/ironic', '/usr/bin/ironic-dbsync'],
    "REAL_IRONIC=1 needs Debian's ironic-api and ironic-conductor " +
      '(apt-get install -y ironic-api ironic-conductor; bash .ci/run installs them)',
  );
}

export interface IronicAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface RealIronic {
  url: string;
  dir: string;
  call(method: string, apiPath: string, body?: unknown): Promise<IronicAnswer>;
  node(ident: string): Promise<Record<string, unknown>>;
  /** The last lines of Ironic's log, for failure messages. */
  logTail(lines?: number): Promise<string>;
  close(): Promise<void>;
}

export interface RealIronicOptions {
  port: number;
  /** Where Ironic's `inspector` inspect interface sends its requests. */
  inspectorUrl: string;
  /** Seconds between Ironic's status polls of nodes in `inspect wait`. */
  pollS: number;
  /**
   * A Keystone (shared/real-keystone) that Ironic validates every caller's
   * token with, as in an OpenStack cloud; Ironic also authenticates its calls
   * to the service with it. Without one, Ironic is noauth.
   */
  keystoneUrl?: string;
}

/** Ironic's own service identity in a Keystone started by shared/real-keystone. */
export const IRONIC_KEYSTONE_USER = { username: 'admin', password: 'adminpass', project: 'admin' };

/**
 * ironic-up writes a noauth ironic.conf; oslo.config reads OS_<GROUP>__<OPTION>
 * from the environment before the file, which turns that Ironic into one
 * behind Keystone without a configuration of our own.
 */
function keystoneEnv(keystoneUrl: string): Record<string, string> {
  const { username, password, project } = IRONIC_KEYSTONE_USER;
  const identity = (group: string) => ({
    [`OS_${group}__AUTH_TYPE`]: 'password',
    [`OS_${group}__AUTH_URL`]: keystoneUrl,
    [`OS_${group}__USERNAME`]: username,
    [`OS_${group}__PASSWORD`]: password,
    [`OS_${group}__PROJECT_NAME`]: project,
    [`OS_${group}__USER_DOMAIN_NAME`]: 'Default',
    [`OS_${group}__PROJECT_DOMAIN_NAME`]: 'Default',
  });
  return {
    OS_DEFAULT__AUTH_STRATEGY: 'keystone',
    OS_KEYSTONE_AUTHTOKEN__WWW_AUTHENTICATE_URI: keystoneUrl,
    ...identity('KEYSTONE_AUTHTOKEN'),
    ...identity('INSPECTOR'),
  };
}

export async function startRealIronic(opts: RealIronicOptions): Promise<RealIronic> {
  requireRealIronic();
  const dir = await mkdtemp(path.join(tmpdir(), 'real-ironic-interop-'));
  const env = {
    ...process.env,
    IRONIC_DIR: dir,
    IRONIC_PORT: String(opts.port),
    ...(opts.keystoneUrl ? keystoneEnv(opts.keystoneUrl) : {}),
  };
  const url = `http://127.0.0.1:${opts.port}`;
  const logTail = async (lines = 30) => {
    const text = await readFile(path.join(dir, 'ironic.log'), 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  };
  const close = async () => {
    await run(IRONIC_DOWN, [], { env: { ...env, RESET: '1' } });
  };
  try {
    await run(IRONIC_UP, [], {
      env: { ...env, INSPECTOR_URL: opts.inspectorUrl, INSPECTOR_POLL_S: String(opts.pollS) },
      timeout: 180_000,
    });
  } catch (err) {
    const tail = await logTail();
    await close();
    throw new Error(`ironic-up failed: ${(err as Error).message}\n${tail}`);
  }
  let token: Promise<string> | undefined;
  const authHeader = async (): Promise<Record<string, string>> => {
    if (!opts.keystoneUrl) return {};
    const { username, password, project } = IRONIC_KEYSTONE_USER;
    token ??= keystoneToken(opts.keystoneUrl, username, password, project);
    return { 'X-Auth-Token': await token };
  };
  const call = async (method: string, apiPath: string, body?: unknown): Promise<IronicAnswer> => {
    const res = await fetch(`${url}${apiPath}`, {
      method,
      headers: {
        ...(await authHeader()),
        'X-OpenStack-Ironic-API-Version': IRONIC_API_VERSION,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  return {
    url,
    dir,
    call,
    async node(ident) {
      const res = await call('GET', `/v1/nodes/${ident}`);
      if (res.status !== 200) throw new Error(`GET node ${ident}: ${res.status}`);
      return res.body;
    },
    logTail,
    close,
  };
}

export interface EnrolOptions {
  /** Ports to create before introspection (all PXE-enabled). */
  macs: readonly string[];
  /** `inspector` lets Ironic's own inspect action call the service. */
  inspectInterface?: string;
}

/** Creates a fake-hardware node with the spec's uuid, name and BMC address, adds ports, manages it. */
export async function enrolNode(
  ironic: RealIronic,
  spec: NodeSpec,
  opts: EnrolOptions,
): Promise<void> {
  const created = await ironic.call('POST', '/v1/nodes', {
    uuid: spec.uuid,
    name: spec.name,
    driver: 'fake-hardware',
    driver_info: { ipmi_address: spec.bmcAddress },
    ...(opts.inspectInterface ? { inspect_interface: opts.inspectInterface } : {}),
  });
  if (created.status !== 201) throw new Error(`create ${spec.name}: ${JSON.stringify(created)}`);
  for (const address of opts.macs) {
    const port = await ironic.call('POST', '/v1/ports', {
      node_uuid: spec.uuid,
      address,
      pxe_enabled: true,
    });
    if (port.status !== 201) throw new Error(`port ${address}: ${JSON.stringify(port)}`);
  }
  const manage = await ironic.call('PUT', `/v1/nodes/${spec.uuid}/states/provision`, {
    target: 'manage',
  });
  if (manage.status !== 202) throw new Error(`manage ${spec.name}: ${JSON.stringify(manage)}`);
  await waitUntil(`${spec.name} manageable`, async () => {
    const node = await ironic.node(spec.uuid);
    return node.provision_state === 'manageable';
  });
}

/**
 * Enrols a node whose inspect interface is `inspector` and has Ironic inspect
 * it: Ironic itself then calls the service. Throws unless Ironic accepts.
 */
export async function startIronicInspection(ironic: RealIronic, spec: NodeSpec): Promise<void> {
  await enrolNode(ironic, spec, { macs: spec.macs, inspectInterface: 'inspector' });
  const inspect = await ironic.call('PUT', `/v1/nodes/${spec.uuid}/states/provision`, {
    target: 'inspect',
  });
  if (inspect.status !== 202) throw new Error(`inspect ${spec.name}: ${JSON.stringify(inspect)}`);
}

/** The MACs of a node's ports in Ironic, sorted, with their pxe_enabled flag. */
export async function portsOf(
  ironic: RealIronic,
  uuid: string,
): Promise<{ address: string; pxe_enabled: boolean }[]> {
  const res = await ironic.call('GET', `/v1/ports?node_uuid=${uuid}&fields=address,pxe_enabled`);
  const ports = res.body.ports as { address: string; pxe_enabled: boolean }[];
  return ports
    .map(({ address, pxe_enabled }) => ({ address, pxe_enabled }))
    .sort((a, b) => a.address.localeCompare(b.address));
}
