import { TERMINAL_STATES, isIronicNotFound, type NodeRecord } from '@inspector/shared';
import type { WorkerContext } from '../context.ts';
import { endRun } from '../end-run.ts';
import { isTransient } from '../transient.ts';

export const DELETED_ERROR = 'Node was deleted from Ironic';

/**
 * Whether a run belongs to a node Ironic no longer has. A run started after
 * Ironic was asked for its nodes may be of a node created since (perhaps
 * again, with the same UUID), so it is kept.
 */
export function deletedFromIronic(
  record: Pick<NodeRecord, 'uuid' | 'started_at'>,
  inIronic: ReadonlySet<string>,
  listedAt: number,
): boolean {
  return record.started_at < listedAt && !inIronic.has(record.uuid);
}

/**
 * Upstream's Ironic sync: the runs of nodes deleted from Ironic go, with
 * their status, data and lookup entries, so that a MAC or BMC address moved
 * to a newly enrolled node finds that node. An unfinished run ends in error
 * first. A failed listing changes nothing, and a node missing from the
 * listing goes only once Ironic answers 404 for it alone: a listing cut
 * short, or hosts whose clocks disagree on when it began, drop no live node.
 * Ironic is asked each thing once, and the pass ends at the first transient
 * failure (no answer, 5xx): the next pass comes within CLEAN_UP_PERIOD_S,
 * while a pass waiting out an Ironic outage would hold the maintenance queue,
 * the timeout safety net with it, and a worker's stop.
 */
export async function forgetDeletedNodes(ctx: WorkerContext): Promise<number> {
  const listedAt = Date.now();
  let inIronic: Set<string>;
  try {
    inIronic = await ctx.ironic.listNodeUuids({ retry: false });
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, 'Ironic sync skipped: cannot list nodes');
    ctx.metrics.ironicSyncs.inc({ result: 'failed' });
    return 0;
  }
  let forgotten = 0;
  for (const uuid of await ctx.store.indexedBefore(listedAt)) {
    if (inIronic.has(uuid)) continue;
    const record = await ctx.store.get(uuid);
    if (!record || !deletedFromIronic(record, inIronic, listedAt)) continue;
    let gone: boolean;
    try {
      gone = await goneFromIronic(ctx, uuid);
    } catch (err) {
      const message = (err as Error).message;
      if (!isTransient(err)) {
        // This node's own trouble: the others are still checked.
        ctx.logger.warn({ node: uuid, err: message }, 'Ironic sync: node not checked');
        continue;
      }
      // Ironic stopped answering mid-pass: the next pass finishes the work.
      ctx.logger.warn({ node: uuid, err: message }, 'Ironic sync stopped: Ironic not answering');
      ctx.metrics.ironicSyncs.inc({ result: 'failed' });
      return forgotten;
    }
    if (!gone) continue;
    const run = { node: uuid, gen: record.gen, reqId: record.req_id };
    if (!TERMINAL_STATES.has(record.state)) {
      const ended = await endRun(ctx, run, 'error', { error: DELETED_ERROR, record });
      if (!ended.ok) continue;
    }
    if (await ctx.store.forget(record)) {
      forgotten++;
      ctx.metrics.ironicSyncDropped.inc();
      ctx.logger.warn(
        { node: uuid, reqId: record.req_id || undefined, state: record.state },
        'node deleted from Ironic: its introspection status and data are dropped',
      );
    }
  }
  ctx.metrics.ironicSyncs.inc({ result: 'ok' });
  return forgotten;
}

/** Whether Ironic answers 404 for the node; any other failure is thrown. */
async function goneFromIronic(ctx: WorkerContext, uuid: string): Promise<boolean> {
  try {
    await ctx.ironic.getNode(uuid, { retry: false });
    return false;
  } catch (err) {
    if (isIronicNotFound(err)) return true;
    throw err;
  }
}
