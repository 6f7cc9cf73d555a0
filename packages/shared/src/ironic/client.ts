import { z } from 'zod';
import { InspectorError, NotFound, coerceError } from '../errors.ts';
import type { Config, ServiceRole } from '../config.ts';
import { retryBudgetMs, withRetry, type RetryPolicy } from '../retry.ts';
import { exchange } from '../http-exchange.ts';
import { normalizeMac } from '../mac.ts';
import { KeystoneSession, keystoneCredentials } from '../keystone/keystone-session.ts';
import {
  IronicNodeSchema,
  IronicPortSchema,
  ValidateResultSchema,
  type IronicNode,
  type IronicPort,
  type JsonPatchOp,
  type PowerTarget,
} from './types.ts';

/**
 * Where a failed call's answer came from: Ironic's own error document, something on the way
 * (a proxy's page, an answer lost or late), or nowhere, as the call never reached Ironic (no
 * connection, no token).
 */
export type FailureSource = 'ironic' | 'wire' | 'unsent';

/** An Ironic call that failed; `status` is Ironic's HTTP status, or 0 for no answer. */
export class IronicError extends InspectorError {
  readonly ironicStatus: number;
  readonly source: FailureSource;
  constructor(
    operation: string,
    ironicStatus: number,
    detail: string,
    cause?: unknown,
    source: FailureSource = 'wire',
  ) {
    super(`${operation} failed: ${detail}`, {
      status: ironicStatus === 404 ? 404 : 503,
      code: 'ironic_error',
      cause,
    });
    this.ironicStatus = ironicStatus;
    this.source = source;
  }
  /** Node locked (409), Ironic overloaded or restarting (5xx), or no answer in time. */
  get transient(): boolean {
    return this.locked || this.ironicStatus === 0 || this.ironicStatus >= 500;
  }
  /**
   * The node was locked: Ironic refused the call before doing anything. Its other 409s (a state
   * that forbids the act, a node bound to an instance) would answer the same on every retry.
   */
  get locked(): boolean {
    return this.ironicStatus === 409 && /\bis locked\b|\bNodeLocked\b/i.test(this.message);
  }
  /**
   * Ironic did nothing: the call never reached it, the node was locked, or it had no conductor
   * free (its own 503). No answer, a proxy's 502-504 or a 500 may come after the act itself.
   */
  get refusedBeforeActing(): boolean {
    if (this.source === 'unsent') return this.transient;
    return this.locked || (this.ironicStatus === 503 && this.source === 'ironic');
  }
  /** Ironic answers 409 both for a locked node and for a resource that exists already. */
  get duplicate(): boolean {
    return this.ironicStatus === 409 && /already exists/i.test(this.message);
  }
}

/**
 * A call that must not happen twice (a reboot, a node update) failed without saying whether
 * Ironic carried it out: no answer, a proxy's page or a 500. Not sent again as it was; the
 * caller starts its step over from what Ironic now holds (sets PXE boot again, recomputes the
 * update). Transient, as the failure it stands for.
 */
export class IronicAnswerLost extends IronicError {
  constructor(lost: IronicError) {
    super('', lost.ironicStatus, '', lost, lost.source);
    this.message = lost.message;
  }
}

/** Whether a failure is Ironic answering 404: what was asked for is not there. */
export function isIronicNotFound(err: unknown): boolean {
  return err instanceof IronicError && err.ironicStatus === 404;
}

/** Ironic's 404 for a node as this service's own, naming the node; any other failure as it is. */
export function ironicNotFound(ident: string, err: unknown): never {
  if (isIronicNotFound(err)) {
    throw new NotFound(`Node ${ident} was not found in Ironic`);
  }
  throw err;
}

export interface IronicClientOptions {
  url: string;
  apiVersion: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** Where X-Auth-Token comes from, when Ironic wants one (a Keystone session). */
  auth?: Pick<KeystoneSession, 'token' | 'invalidate' | 'refused'>;
  /** Called once per HTTP exchange, for metrics. */
  onCall?: (operation: string, status: number, seconds: number) => void;
}

/**
 * `retry: false`: one try whatever the answer, for callers that try again on
 * their own (a credential check's loop, the next periodic sync).
 */
export interface CallOptions {
  retry?: false;
}

/**
 * Ironic's error bodies nest a JSON string in `error_message`; the auth middleware in front of it
 * answers Keystone's `{"error": {"message"}}`.
 */
function ironicFault(text: string): { detail: string; fromIronic: boolean } {
  try {
    const body = JSON.parse(text) as { error_message?: unknown; error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') {
      return { detail: body.error.message, fromIronic: true };
    }
    const inner = body.error_message;
    if (typeof inner === 'string') {
      try {
        const parsed = JSON.parse(inner) as { faultstring?: unknown };
        if (typeof parsed.faultstring === 'string') {
          return { detail: parsed.faultstring, fromIronic: true };
        }
      } catch {
        return { detail: inner, fromIronic: true };
      }
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { detail: text.slice(0, 500) || 'no detail', fromIronic: false };
}

/**
 * Ironic is asked only for the fields this service reads: a whole node is
 * dozens of fields, and both Ironic and this service pay for each one.
 */
const NODE_FIELDS = Object.keys(IronicNodeSchema.shape).join(',');
const PORT_FIELDS = Object.keys(IronicPortSchema.shape).join(',');
const LIST_PAGE = 1000;

/** Connection failures (node's, undici's) that leave a request unsent. */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT']);

/** One page of a collection, under its own key (`nodes`, `ports`) in Ironic's answer. */
interface Page<T> {
  items: T[];
  next?: string | null;
}

/**
 * Answers' schemas are built once, here: zod compiles an object schema on
 * its first parse, and one built per call paid that on every call.
 */
function pageSchema<T>(key: 'nodes' | 'ports', item: z.ZodType<T>): z.ZodType<Page<T>> {
  return z
    .object({ [key]: z.array(item), next: z.string().nullish() })
    .transform((page) => ({ items: page[key] as T[], next: page.next as Page<T>['next'] }));
}
const PortPageSchema = pageSchema('ports', IronicPortSchema);
const NodeUuidPageSchema = pageSchema('nodes', z.looseObject({ uuid: z.string() }));
const PortAddressPageSchema = pageSchema(
  'ports',
  z.looseObject({ uuid: z.string(), address: z.string() }),
);
const BootDeviceSchema = z.looseObject({ boot_device: z.string().nullish() });
const DiscoveryNodeSchema = IronicNodeSchema.pick({
  uuid: true,
  provision_state: true,
  driver_info: true,
  extra: true,
});
/** What discovery reads of every node in Ironic. */
export type DiscoveryNode = z.infer<typeof DiscoveryNodeSchema>;
const DISCOVERY_NODE_FIELDS = Object.keys(DiscoveryNodeSchema.shape).join(',');
const DiscoveryNodePageSchema = pageSchema('nodes', DiscoveryNodeSchema);
/** Ironic's node traits API; below it, `/traits` is a 404 that would read as "no such trait". */
const TRAITS_VERSION = '1.37';
const RESET_INTERFACES_VERSION = '1.45';
const traitPath = (uuid: string, trait: string) =>
  `/v1/nodes/${uuid}/traits/${encodeURIComponent(trait)}`;

/** The later of two microversions (`1.46` after `1.9`); `a` when `b` is absent. */
export function laterVersion(a: string, b?: string): string {
  if (b === undefined) return a;
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return bMajor > aMajor || (bMajor === aMajor && bMinor > aMinor) ? b : a;
}

export class IronicClient {
  readonly #opts: IronicClientOptions;
  readonly #base: string;

  constructor(opts: IronicClientOptions) {
    this.#opts = opts;
    this.#base = opts.url.replace(/\/+$/, '');
  }

  /**
   * One call, retried while it fails transiently. A call that must not happen twice
   * (`once`) is retried only when Ironic says it did nothing (refusedBeforeActing); otherwise
   * its failure is an IronicAnswerLost, for the caller to start over from.
   */
  async #call(
    operation: string,
    method: string,
    path: string,
    body?: unknown,
    opts: CallOptions & { once?: boolean; minVersion?: string } = {},
  ): Promise<unknown> {
    const version = laterVersion(this.#opts.apiVersion, opts.minVersion);
    try {
      return await withRetry(
        opts.retry === false ? { ...this.#opts.retry, attempts: 1 } : this.#opts.retry,
        () => this.#once(operation, method, path, body, version),
        (err) =>
          err instanceof IronicError && (opts.once ? err.refusedBeforeActing : err.transient),
      );
    } catch (err) {
      if (opts.once && err instanceof IronicError && err.transient && !err.refusedBeforeActing)
        throw new IronicAnswerLost(err);
      throw err;
    }
  }

  async #token(operation: string): Promise<string | undefined> {
    try {
      return await this.#opts.auth?.token();
    } catch (err) {
      // Keystone down: Ironic cannot be asked, as if it were unreachable, and a retry may help.
      // Keystone refusing the service's password: a retry cannot, so the status says 401.
      const status = this.#opts.auth?.refused ? 401 : 0;
      throw new IronicError(
        operation,
        status,
        `no token for Ironic: ${coerceError(err).message}`,
        err,
        'unsent',
      );
    }
  }

  async #once(
    operation: string,
    method: string,
    path: string,
    body: unknown,
    version: string,
  ): Promise<unknown> {
    let res: { status: number; text: string };
    for (let fresh = false; ; fresh = true) {
      const token = await this.#token(operation);
      res = await this.#exchange(operation, method, path, body, token, version);
      // A token Keystone revoked or expired early: one more try with a new one.
      if (res.status !== 401 || !token || fresh) break;
      this.#opts.auth?.invalidate(token);
    }
    const { status, text } = res;
    if (status < 200 || status >= 300) {
      const hint =
        status === 401 && !this.#opts.auth ? ' (IRONIC_AUTH_STRATEGY=keystone sends a token)' : '';
      const { detail, fromIronic } = ironicFault(text);
      throw new IronicError(
        operation,
        status,
        `HTTP ${status}: ${detail}${hint}`,
        undefined,
        fromIronic ? 'ironic' : 'wire',
      );
    }
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new IronicError(operation, 502, 'Ironic answered with invalid JSON', err);
    }
  }

  async #exchange(
    operation: string,
    method: string,
    path: string,
    body: unknown,
    token: string | undefined,
    version: string,
  ): Promise<{ status: number; text: string }> {
    const started = performance.now();
    try {
      const res = await exchange(new URL(`${this.#base}${path}`), {
        method,
        headers: {
          Accept: 'application/json',
          'X-OpenStack-Ironic-API-Version': version,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(token === undefined ? {} : { 'X-Auth-Token': token }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: this.#opts.timeoutMs,
      });
      this.#opts.onCall?.(operation, res.status, (performance.now() - started) / 1000);
      return res;
    } catch (thrown) {
      const err = coerceError(thrown);
      this.#opts.onCall?.(operation, 0, (performance.now() - started) / 1000);
      // Refused at connect, or no connection in time: nothing was sent. A reset or a timeout may
      // come after Ironic acted.
      const source = UNSENT_CODES.has((err as NodeJS.ErrnoException).code ?? '')
        ? 'unsent'
        : 'wire';
      throw new IronicError(operation, 0, `Ironic unreachable: ${err.message}`, err, source);
    }
  }

  #parse<T>(operation: string, schema: z.ZodType<T>, value: unknown): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new IronicError(
        operation,
        502,
        `unexpected answer from Ironic: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }

  /**
   * A node by UUID or name: the fields this service reads, or with `allFields` every one (what
   * introspection rules' `node://` fields look into).
   */
  async getNode(
    ident: string,
    opts: CallOptions & { allFields?: boolean } = {},
  ): Promise<IronicNode> {
    const op = `Get node ${ident}`;
    const fields = opts.allFields ? '' : `?fields=${NODE_FIELDS}`;
    const path = `/v1/nodes/${encodeURIComponent(ident)}${fields}`;
    return this.#parse(op, IronicNodeSchema, await this.#call(op, 'GET', path, undefined, opts));
  }

  async validatePower(uuid: string): Promise<{ result: boolean; reason: string | null }> {
    const op = `Validate node ${uuid}`;
    const res = this.#parse(
      op,
      ValidateResultSchema,
      await this.#call(op, 'GET', `/v1/nodes/${uuid}/validate`),
    );
    return { result: res.power?.result === true, reason: res.power?.reason ?? null };
  }

  async listPorts(nodeUuid: string): Promise<IronicPort[]> {
    return this.#listAll(
      `List ports of node ${nodeUuid}`,
      `/v1/ports?node_uuid=${nodeUuid}&fields=${PORT_FIELDS}`,
      PortPageSchema,
    );
  }

  /** The port with this MAC address, if Ironic has one. */
  async findPort(address: string): Promise<IronicPort | null> {
    const op = `Find port ${address}`;
    const ports = await this.#listAll(
      op,
      `/v1/ports?address=${encodeURIComponent(address)}&fields=${PORT_FIELDS}`,
      PortPageSchema,
    );
    return ports[0] ?? null;
  }

  /**
   * Every node with what discovery asks of it: its driver_info (passwords masked by Ironic),
   * where its BMC is, and its extra and provision state, which tell a node discovery created.
   */
  async listNodesForDiscovery(): Promise<DiscoveryNode[]> {
    return this.#listAll(
      'List nodes for discovery',
      `/v1/nodes?fields=${DISCOVERY_NODE_FIELDS}`,
      DiscoveryNodePageSchema,
    );
  }

  /**
   * Creates a node (in `enroll`). Sent once: a node created twice is two nodes, so a lost answer
   * throws IronicAnswerLost instead of asking again.
   */
  async createNode(fields: Record<string, unknown>): Promise<IronicNode> {
    const op = 'Create node';
    return this.#parse(
      op,
      IronicNodeSchema,
      await this.#call(op, 'POST', '/v1/nodes', fields, { once: true }),
    );
  }

  /** The UUID of every node Ironic has. */
  async listNodeUuids(opts: CallOptions = {}): Promise<Set<string>> {
    const nodes = await this.#listAll(
      'List nodes',
      '/v1/nodes?fields=uuid',
      NodeUuidPageSchema,
      opts,
    );
    return new Set(nodes.map((n) => n.uuid));
  }

  /** The MAC address of every port Ironic has, lower case; an address that is no MAC is left out. */
  async listPortAddresses(opts: CallOptions = {}): Promise<Set<string>> {
    const ports = await this.#listAll(
      'List ports',
      '/v1/ports?fields=uuid,address',
      PortAddressPageSchema,
      opts,
    );
    const macs = new Set<string>();
    for (const port of ports) {
      const mac = normalizeMac(port.address);
      if (mac) macs.add(mac);
    }
    return macs;
  }

  /**
   * Every page of a collection. Ironic caps a page at its own `max_limit`,
   * which may be below the size asked for, and says there is more with a
   * `next` link; the pages are asked for by marker here, as that link drops
   * some filters (node_uuid) and names Ironic's public URL, not IRONIC_URL.
   */
  async #listAll<T extends { uuid: string }>(
    op: string,
    path: string,
    schema: z.ZodType<Page<T>>,
    opts: CallOptions = {},
  ): Promise<T[]> {
    const items: T[] = [];
    const seen = new Set<string>();
    for (let marker = ''; ;) {
      const url = `${path}&limit=${LIST_PAGE}${marker}`;
      const page = this.#parse(op, schema, await this.#call(op, 'GET', url, undefined, opts));
      const got = page.items;
      items.push(...got);
      if (!page.next || got.length === 0) return items;
      const last = got[got.length - 1]!.uuid;
      // An answer that ignores the marker would page forever.
      if (seen.has(last)) throw new IronicError(op, 502, `Ironic paged back to ${last}`);
      seen.add(last);
      marker = `&marker=${last}`;
    }
  }

  /** Creates a port; an address Ironic already has is not an error, and returns false. */
  async createPort(nodeUuid: string, address: string, pxeEnabled: boolean): Promise<boolean> {
    const op = `Create port ${address} for node ${nodeUuid}`;
    try {
      await this.#call(op, 'POST', '/v1/ports', {
        node_uuid: nodeUuid,
        address,
        pxe_enabled: pxeEnabled,
      });
      return true;
    } catch (err) {
      // Also covers a retry after a lost answer meeting the port it created itself.
      if (err instanceof IronicError && err.duplicate) return false;
      throw err;
    }
  }

  /** Sets whether Ironic PXE-boots the node from this port; the same value twice is harmless. */
  async setPortPxeEnabled(port: IronicPort, nodeUuid: string, pxeEnabled: boolean): Promise<void> {
    const op = `Set pxe_enabled=${pxeEnabled} on port ${port.address} of node ${nodeUuid}`;
    await this.#call(op, 'PATCH', `/v1/ports/${port.uuid}`, [
      { op: 'replace', path: '/pxe_enabled', value: pxeEnabled },
    ]);
  }

  async deletePort(port: IronicPort, nodeUuid: string): Promise<void> {
    const op = `Delete port ${port.address} of node ${nodeUuid}`;
    try {
      await this.#call(op, 'DELETE', `/v1/ports/${port.uuid}`);
    } catch (err) {
      if (!isIronicNotFound(err)) throw err;
    }
  }

  /** With `resetInterfaces`, Ironic resets the node's interfaces to its new driver's defaults. */
  async patchNode(
    uuid: string,
    ops: JsonPatchOp[],
    opts: { resetInterfaces?: boolean } = {},
  ): Promise<IronicNode> {
    const op = `Update node ${uuid}`;
    const path = `/v1/nodes/${uuid}${opts.resetInterfaces ? '?reset_interfaces=true' : ''}`;
    const minVersion = opts.resetInterfaces ? RESET_INTERFACES_VERSION : undefined;
    return this.#parse(
      op,
      IronicNodeSchema,
      // A patch applied twice is not the patch: a `remove` meets nothing and fails.
      await this.#call(op, 'PATCH', path, ops, { once: true, minVersion }),
    );
  }

  /** Adds a trait (Ironic 1.37); one the node has already is left as it is. */
  async addTrait(uuid: string, trait: string): Promise<void> {
    const op = `Add trait ${trait} to node ${uuid}`;
    await this.#call(op, 'PUT', traitPath(uuid, trait), undefined, { minVersion: TRAITS_VERSION });
  }

  /** Removes a trait; one the node does not have is not an error. */
  async removeTrait(uuid: string, trait: string): Promise<void> {
    const op = `Remove trait ${trait} from node ${uuid}`;
    try {
      await this.#call(op, 'DELETE', traitPath(uuid, trait), undefined, {
        minVersion: TRAITS_VERSION,
      });
    } catch (err) {
      if (!isIronicNotFound(err)) throw err;
    }
  }

  async setBootDevice(uuid: string, device: 'pxe', persistent = false): Promise<void> {
    await this.#call(
      `Set boot device of node ${uuid} to ${device}`,
      'PUT',
      `/v1/nodes/${uuid}/management/boot_device`,
      {
        boot_device: device,
        persistent,
      },
    );
  }

  async getBootDevice(uuid: string, opts: CallOptions = {}): Promise<string | null> {
    const op = `Get boot device of node ${uuid}`;
    const path = `/v1/nodes/${uuid}/management/boot_device`;
    return (
      this.#parse(op, BootDeviceSchema, await this.#call(op, 'GET', path, undefined, opts))
        .boot_device ?? null
    );
  }

  async setPowerState(uuid: string, target: PowerTarget): Promise<void> {
    const op = `Set power state of node ${uuid} to ${target}`;
    // Power on and off are states, asked for again harmlessly; a second reboot would cut short
    // the ramdisk boot of the first, after its one-time PXE boot device was used up.
    const once = target === 'rebooting';
    await this.#call(op, 'PUT', `/v1/nodes/${uuid}/states/power`, { target }, { once });
  }
}

export function ironicRetryPolicy(config: Config, caller: ServiceRole): RetryPolicy {
  return {
    attempts: caller === 'api' ? config.API_IRONIC_RETRY_ATTEMPTS : config.IRONIC_RETRY_ATTEMPTS,
    baseDelayMs: config.IRONIC_RETRY_DELAY_MS,
    maxDelayMs: Math.max(config.IRONIC_RETRY_DELAY_MS * 16, 1),
  };
}

/** The longest one Ironic call, retries included, can take with this configuration. */
export function ironicCallBudgetMs(config: Config, caller: ServiceRole): number {
  return retryBudgetMs(ironicRetryPolicy(config, caller), config.IRONIC_TIMEOUT_MS);
}

export function ironicClientFromConfig(
  config: Config,
  caller: ServiceRole,
  onCall?: IronicClientOptions['onCall'],
): IronicClient {
  return new IronicClient({
    url: config.IRONIC_URL,
    apiVersion: config.IRONIC_API_VERSION,
    timeoutMs: config.IRONIC_TIMEOUT_MS,
    retry: ironicRetryPolicy(config, caller),
    onCall,
    auth:
      config.IRONIC_AUTH_STRATEGY === 'keystone'
        ? new KeystoneSession({
            ...keystoneCredentials(config, 'IRONIC_AUTH_STRATEGY=keystone'),
            unavailable: (reason, cause) => new Error(reason, { cause }),
          })
        : undefined,
  });
}
