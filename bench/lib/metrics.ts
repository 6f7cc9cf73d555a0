/**
 * Reads the service's own Prometheus histograms: the Ironic client's
 * `onCall(operation, status, seconds)` hook feeds
 * `inspector_ironic_request_duration_seconds{operation,status_class}`, so
 * scraping each process's /metrics times every Ironic call from the
 * service's side of the wire.
 */
import { request } from './runs.ts';
import { round } from './stats.ts';

export const IRONIC_HISTOGRAM = 'inspector_ironic_request_duration_seconds';

export interface CallStats {
  operation: string;
  statusClass: string;
  count: number;
  seconds: number;
  /** Upper bounds and cumulative counts, as scraped. */
  buckets: [number, number][];
}

function labelsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** The histogram's series in a Prometheus text exposition, one entry per label set. */
export function parseHistogram(text: string, name: string): CallStats[] {
  const series = new Map<string, CallStats>();
  const re = new RegExp(`^${name}_(bucket|sum|count)\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels = labelsOf(m[2]!);
    const key = `${labels.operation}|${labels.status_class}`;
    const s = series.get(key) ?? {
      operation: labels.operation ?? '?',
      statusClass: labels.status_class ?? '?',
      count: 0,
      seconds: 0,
      buckets: [],
    };
    const value = Number(m[3]);
    if (m[1] === 'sum') s.seconds = value;
    else if (m[1] === 'count') s.count = value;
    else s.buckets.push([labels.le === '+Inf' ? Infinity : Number(labels.le), value]);
    series.set(key, s);
  }
  return [...series.values()];
}

/** Scrapes every process; null for a process that does not expose the histogram. */
export async function scrapeIronicCalls(
  urls: Record<string, string>,
): Promise<Record<string, CallStats[] | null>> {
  const out: Record<string, CallStats[] | null> = {};
  for (const [name, url] of Object.entries(urls)) {
    const res = await request(url, { headers: { Accept: 'text/plain' } });
    const text = typeof res.body === 'string' ? res.body : '';
    out[name] =
      res.status === 200 && text.includes(IRONIC_HISTOGRAM)
        ? parseHistogram(text, IRONIC_HISTOGRAM)
        : null;
  }
  return out;
}

/** The smallest bucket bound holding `q` of the observations: an upper estimate of that quantile. */
export function bucketQuantile(stats: CallStats, q: number): number | null {
  const want = stats.count * q;
  for (const [le, cumulative] of [...stats.buckets].sort((a, b) => a[0] - b[0])) {
    if (cumulative >= want) return Number.isFinite(le) ? le : null;
  }
  return null;
}

/** One line per operation: calls, mean and total seconds, errors. */
export function describeCalls(process: string, stats: CallStats[], nodes: number): string[] {
  const byOp = new Map<
    string,
    { count: number; seconds: number; failed: number; p90: number | null }
  >();
  for (const s of stats) {
    const e = byOp.get(s.operation) ?? { count: 0, seconds: 0, failed: 0, p90: null };
    e.count += s.count;
    e.seconds += s.seconds;
    if (s.statusClass !== '2xx') e.failed += s.count;
    else e.p90 = bucketQuantile(s, 0.9);
    byOp.set(s.operation, e);
  }
  const total = [...byOp.values()].reduce((a, e) => a + e.seconds, 0);
  return [
    `${process}: ${round(total, 2)} s waiting on Ironic in all (${round((1000 * total) / nodes, 0)} ms per node)`,
    ...[...byOp]
      .sort((a, b) => b[1].seconds - a[1].seconds)
      .map(
        ([op, e]) =>
          `  ${op}: ${e.count} calls, mean ${round((1000 * e.seconds) / Math.max(1, e.count), 1)} ms` +
          `${e.p90 !== null ? `, p90 <= ${e.p90 * 1000} ms` : ''}, total ${round(e.seconds, 2)} s` +
          `${e.failed ? `, ${e.failed} answered with an error (retried)` : ''}`,
      ),
  ];
}
