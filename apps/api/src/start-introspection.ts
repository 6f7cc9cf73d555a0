import { lookup } from 'node:dns/promises';
import {
  BadRequest,
  bmcHost,
  checkProvisionState,
  coerceError,
  isIpAddress,
  normalizeMac,
  type Logger,
} from '@inspector/shared';
import { checkCredentialRequest } from './credentials.ts';
import type { ApiDeps } from './deps.ts';
import { enqueueForRun } from './enqueue-for-run.ts';
import { fetchNode } from './node-ident.ts';

export interface StartParams {
  ident: string;
  manageBoot: boolean;
  newIpmiUsername?: string | undefined;
  newIpmiPassword?: string | undefined;
  reqId: string;
  log: Logger;
}

const DNS_TIMEOUT_MS = 2000;

/** A BMC host as IP addresses; a name that does not resolve only warns (one bad node must not block others). */
async function resolveBmc(host: string | null, log: Logger): Promise<string[]> {
  if (!host) return [];
  if (isIpAddress(host)) return [host];
  try {
    const found = await Promise.race([
      lookup(host, { all: true }),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('DNS lookup timed out')), DNS_TIMEOUT_MS).unref(),
      ),
    ]);
    return [...new Set(found.map((a) => a.address))];
  } catch (err) {
    log.warn(
      { err: coerceError(err), host },
      'BMC address does not resolve; lookup will use MACs only',
    );
    return [];
  }
}

/**
 * Checks a node and starts a run: everything the caller can get wrong is
 * answered here, synchronously; power actions are left to the workers.
 */
export async function startIntrospection(deps: ApiDeps, p: StartParams): Promise<void> {
  const { config, ironic, store, queues } = deps;
  if (p.manageBoot && !config.CAN_MANAGE_BOOT) {
    throw new BadRequest(
      'Managed boot is requested, but this installation cannot manage boot (CAN_MANAGE_BOOT set to False)',
    );
  }
  const node = await fetchNode(ironic, p.ident);
  const log = p.log.child({ node: node.uuid });
  checkProvisionState(node);
  const credentials = checkCredentialRequest(
    node,
    { new_ipmi_username: p.newIpmiUsername, new_ipmi_password: p.newIpmiPassword },
    config.ENABLE_SETTING_IPMI_CREDENTIALS,
  );
  // With new credentials requested the BMC cannot be reached yet: the operator powers the node on.
  const manageBoot = p.manageBoot && !credentials;
  // The ports are read only after validation, not alongside it: with both in flight for 50 nodes,
  // Debian's Ironic 21.4 stopped answering boot-device calls for good, in two runs of two of
  // `npm run bench -- --only real-ironic`.
  if (manageBoot) {
    const { result, reason } = await ironic.validatePower(node.uuid);
    if (!result) {
      throw new BadRequest(
        `Failed validation of power interface for node ${node.uuid}, reason: ${reason ?? 'unknown'}`,
      );
    }
  }
  const [bmc, ports] = await Promise.all([
    resolveBmc(bmcHost(node), log),
    ironic.listPorts(node.uuid),
  ]);
  const macs = [
    ...new Set(ports.map((port) => normalizeMac(port.address)).filter((m) => m !== null)),
  ];
  if (bmc.length === 0 && macs.length === 0) {
    throw new BadRequest(
      `No lookup attributes were found for node ${node.uuid}, inspector won't be able to find it after introspection, consider creating ironic ports or providing an IPMI address`,
    );
  }
  const { gen, replaced } = await store.start({
    uuid: node.uuid,
    bmc,
    macs,
    manageBoot,
    reqId: p.reqId,
    credentials: credentials ?? undefined,
  });
  const job = { node: node.uuid, gen, reqId: p.reqId };
  await enqueueForRun(deps, job, 'introspection', async () => {
    await queues.scheduleTimeout(job);
    await queues.add('introspect', { ...job, replaced });
  });
  log.info({ gen, bmc, macs: macs.length, manageBoot }, 'introspection started');
}
