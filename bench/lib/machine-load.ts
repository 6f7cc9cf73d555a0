/**
 * How much of the machine other work took while a scenario ran: all CPU time
 * the kernel counted, minus this process's and its reaped children's.
 */
import { readFile } from 'node:fs/promises';
import { CLK_TCK } from './processes.ts';

export interface CpuSnapshot {
  /** Busy clock ticks of every core. */
  busy: number;
  /** All clock ticks of every core, idle included. */
  total: number;
  /** Ticks of this process and of the children it has waited for. */
  ours: number;
}

export async function cpuSnapshot(): Promise<CpuSnapshot> {
  const [stat, self] = await Promise.all([
    readFile('/proc/stat', 'utf8'),
    readFile('/proc/self/stat', 'utf8'),
  ]);
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const t = stat.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = t as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const busy = user + nice + system + irq + softirq + steal;
  // utime, stime, cutime, cstime are fields 14 to 17; the name in parentheses may hold spaces.
  const f = self
    .slice(self.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return { busy, total: busy + idle + iowait, ours: f[11]! + f[12]! + f[13]! + f[14]! };
}

/** Share of all cores (0..1) that processes other than ours kept busy between two snapshots. */
export function othersShare(a: CpuSnapshot, b: CpuSnapshot, detachedSeconds = 0): number {
  const total = b.total - a.total;
  if (total <= 0) return 0;
  const ours = b.ours - a.ours + detachedSeconds * CLK_TCK;
  return Math.max(0, (b.busy - a.busy - ours) / total);
}
