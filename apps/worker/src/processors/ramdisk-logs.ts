import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { NodeJobSchema } from '@inspector/shared';
import type { WorkerContext } from '../context.ts';

/** `<uuid>_<UTC time>.tar.gz`; the uuid was validated, so the name cannot leave the directory. */
export function logFileName(uuid: string, at: Date): string {
  // Upstream's default template: {uuid}_{dt:%Y%m%d-%H%M%S.%f}.tar.gz (microseconds).
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('Z', '000');
  return `${uuid}_${stamp}.tar.gz`;
}

/** Writes the ramdisk's base64 logs of one run to RAMDISK_LOGS_DIR. Returns the file, if any. */
export async function saveRamdiskLogs(
  ctx: WorkerContext,
  uuid: string,
  now = new Date(),
): Promise<string | null> {
  const dir = ctx.config.RAMDISK_LOGS_DIR;
  if (!dir) return null;
  const logs = await ctx.store.getLogs(uuid);
  if (!logs) return null;
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, logFileName(uuid, now));
  await writeFile(file, Buffer.from(logs, 'base64'), { mode: 0o640 });
  await ctx.store.deleteLogs(uuid);
  return file;
}

/**
 * A run has ended: its ramdisk logs are written out when `keep` (a failed run, or every run
 * with ALWAYS_STORE_RAMDISK_LOGS), and leave Redis either way.
 */
export async function settleRamdiskLogs(
  ctx: WorkerContext,
  uuid: string,
  keep: boolean,
): Promise<string | null> {
  const file = keep ? await saveRamdiskLogs(ctx, uuid) : null;
  if (!file) await ctx.store.deleteLogs(uuid);
  return file;
}

export async function ramdiskLogs(ctx: WorkerContext, bullJob: Job): Promise<void> {
  const job = NodeJobSchema.parse(bullJob.data);
  const file = await saveRamdiskLogs(ctx, job.node);
  if (file) ctx.logger.info({ node: job.node, reqId: job.reqId, file }, 'ramdisk logs stored');
}
