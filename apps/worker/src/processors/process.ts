import type { Job } from 'bullmq';
import {
  bmcHost,
  coerceError,
  ironicNotFound,
  InspectorError,
  RamdiskDataSchema,
  checkProvisionState,
  normalizeRamdiskData,
  planUpdate,
  preprocess,
  sleep,
  type HookContext,
  type IronicNode,
  type JsonPatchOp,
  type Logger,
  type ProcessedData,
} from '@inspector/shared';
import type { WorkerContext } from '../context.ts';
import { endRun } from '../end-run.ts';
import { JOB_RUN_STATES, assertRunStillIn, runNodeJob, type NodeJobScope } from '../node-job.ts';
import { knownNode } from '../power/power-driver.ts';
import { startOverOnLostAnswer } from '../start-over.ts';
import { applyRules } from './apply-rules.ts';
import { processedDocument } from './processed-document.ts';

/** How the credential check is retried: upstream's 10 tries, 3 s apart. */
export interface CredentialCheckPolicy {
  attempts: number;
  intervalMs: number;
}

/**
 * Asks of Ironic what the hooks plan. `stillOurs` throws once the run has moved on: the reads
 * before each batch of writes can take minutes with a slow Ironic, meanwhile the run may have
 * timed out and the node been started again, and old data must not overwrite the new run's.
 */
async function applyPlan(
  ctx: WorkerContext,
  node: IronicNode,
  data: ProcessedData,
  hookCtx: HookContext,
  log: Logger,
  stillOurs: () => Promise<void>,
): Promise<IronicNode> {
  const ports = await ctx.ironic.listPorts(node.uuid);
  const plan = planUpdate(data, node, ports, hookCtx);
  const portWrites = plan.createPorts.length + plan.pxePorts.length + plan.deletePorts.length;
  if (portWrites) await stillOurs();
  for (const port of plan.createPorts) {
    const created = await ctx.ironic.createPort(node.uuid, port.address, port.pxe_enabled);
    log.info({ mac: port.address, created }, created ? 'port created' : 'port already exists');
  }
  for (const { port, pxe_enabled } of plan.pxePorts) {
    await ctx.ironic.setPortPxeEnabled(port, node.uuid, pxe_enabled);
    log.info({ mac: port.address, pxe_enabled }, 'port pxe_enabled set');
  }
  for (const port of plan.deletePorts) {
    await ctx.ironic.deletePort(port, node.uuid);
    log.info({ mac: port.address }, 'port deleted');
  }
  if (!plan.nodePatches.length) return node;
  await stillOurs();
  return ctx.ironic.patchNode(node.uuid, plan.nodePatches);
}

/**
 * Sets the new IPMI credentials in Ironic, then proves they work before the
 * node is powered off; if they never do, the run ends in error.
 */
async function setCredentials(
  ctx: WorkerContext,
  { job, record, log }: NodeJobScope,
  node: IronicNode,
  data: ProcessedData,
  policy: CredentialCheckPolicy,
): Promise<IronicNode> {
  const password = await ctx.store.getSecret(node.uuid, record.gen);
  if (!password || !record.new_ipmi_username) {
    throw new InspectorError(
      `New IPMI credentials for node ${node.uuid} are no longer available (expired); restart the introspection`,
    );
  }
  const patch: JsonPatchOp[] = [
    { op: 'add', path: '/driver_info/ipmi_username', value: record.new_ipmi_username },
    { op: 'add', path: '/driver_info/ipmi_password', value: password },
  ];
  // As upstream: only a node without any BMC address (IPMI, iLO, DRAC...) is given the ramdisk's.
  if (!bmcHost(node) && data.ipmi_address) {
    patch.push({ op: 'add', path: '/driver_info/ipmi_address', value: data.ipmi_address });
  }
  // Only `add`s of values known here: sent again as they are after a lost answer.
  const updated = await startOverOnLostAnswer(ctx, log, async (attempt) => {
    if (attempt > 1) await assertRunStillIn(ctx, job, JOB_RUN_STATES.process);
    return ctx.ironic.patchNode(node.uuid, patch);
  });
  // Ironic masks the password in its answers: the power driver needs the real one.
  const withSecret: IronicNode = {
    ...updated,
    driver_info: {
      ...updated.driver_info,
      ipmi_username: record.new_ipmi_username,
      ipmi_password: password,
      ...(patch.length > 2 ? { ipmi_address: data.ipmi_address } : {}),
    },
  };
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    if (await ctx.power.credentialsWork(knownNode(withSecret))) {
      log.info({ attempt }, 'new IPMI credentials work');
      return withSecret;
    }
    if (attempt < policy.attempts) await sleep(policy.intervalMs);
  }
  throw new InspectorError(
    `Failed to validate updated IPMI credentials for node ${node.uuid}, node might require maintenance`,
  );
}

/**
 * Powers the node off; for a node Ironic has in `enroll` (discovered ones, first of all), a
 * failure is only logged, as upstream: such a node may not have the power credentials yet.
 */
async function powerOffUnlessEnrolling(
  ctx: WorkerContext,
  node: IronicNode,
  log: Logger,
): Promise<void> {
  try {
    await ctx.power.powerOff(knownNode(node));
  } catch (err) {
    if ((node.provision_state ?? '').toLowerCase() !== 'enroll') throw err;
    log.warn({ err: coerceError(err).message }, 'power off failed, ignored for a node in enroll');
  }
}

/**
 * Turns a run's stored ramdisk data into Ironic properties and ports. With
 * `powerActions`, also sets requested IPMI credentials and powers the node
 * off; a reapply of stored data touches neither.
 */
async function processStoredData(
  ctx: WorkerContext,
  scope: NodeJobScope,
  policy: CredentialCheckPolicy,
  powerActions: boolean,
): Promise<void> {
  const { job, record, log } = scope;
  const ownStates = powerActions ? JOB_RUN_STATES.process : JOB_RUN_STATES.reapply;
  const rawText = await ctx.store.getRaw(job.node);
  if (!rawText) throw new InspectorError(`Ramdisk data of node ${job.node} is missing`);
  const raw = JSON.parse(rawText) as Record<string, unknown>;
  const hookCtx: HookContext = { config: ctx.config, warn: (m) => log.warn(m) };
  const { data, failures } = preprocess(
    normalizeRamdiskData(RamdiskDataSchema.parse(raw)),
    hookCtx,
  );
  if (failures.length) throw new InspectorError(failures.join('\n'));

  const document = processedDocument(raw, data, record.auto_discovered);
  const rules = await ctx.rules.list();
  // A node update whose answer was lost is computed again from the node as Ironic then holds it.
  let node = await startOverOnLostAnswer(ctx, log, async (attempt) => {
    if (attempt > 1) await assertRunStillIn(ctx, job, ownStates);
    const current = await ctx.ironic
      .getNode(job.node)
      .catch((err) => ironicNotFound(job.node, err));
    // A reapply touches properties and ports only, as upstream's: a deployed node may be reapplied.
    if (powerActions) checkProvisionState(current);
    return applyPlan(ctx, current, data, hookCtx, log, () => assertRunStillIn(ctx, job, ownStates));
  });
  // Stored before the rules run, as upstream: a rule that fails the run leaves its data to read.
  await ctx.store.setProcessed(job.node, job.gen, JSON.stringify(document));
  if (rules.length) node = await applyRules(ctx, scope, ownStates, node, document, rules);

  if (powerActions && record.new_ipmi_username) {
    await assertRunStillIn(ctx, job, JOB_RUN_STATES.process);
    node = await setCredentials(ctx, scope, node, data, policy);
    // The run did not boot the node (its BMC was not ours yet), but it powers it off as any
    // other, unless the operator said no power actions at all.
    if (ctx.config.POWER_OFF && ctx.config.CAN_MANAGE_BOOT) {
      await assertRunStillIn(ctx, job, JOB_RUN_STATES.process);
      await ctx.power.powerOff(knownNode(node));
    }
  } else if (powerActions && record.manage_boot && ctx.config.POWER_OFF) {
    await assertRunStillIn(ctx, job, JOB_RUN_STATES.process);
    await powerOffUnlessEnrolling(ctx, node, log);
  }
  const moved = await endRun(ctx, job, 'finish', { record });
  if (moved.ok) log.info('introspection finished');
  else log.info({ state: moved.state }, 'run moved on during processing');
}

/** The `process` job: ramdisk data just arrived for a waiting node. */
export function processor(policy: CredentialCheckPolicy) {
  return async function process(ctx: WorkerContext, bullJob: Job): Promise<void> {
    await runNodeJob(ctx, bullJob, JOB_RUN_STATES.process, (scope) =>
      processStoredData(ctx, scope, policy, true),
    );
  };
}

/** The `reapply` job: stored (or newly posted) data processed again, the node left as it is. */
export function reapplier(policy: CredentialCheckPolicy) {
  return async function reapply(ctx: WorkerContext, bullJob: Job): Promise<void> {
    await runNodeJob(ctx, bullJob, JOB_RUN_STATES.reapply, (scope) =>
      processStoredData(ctx, scope, policy, false),
    );
  };
}
