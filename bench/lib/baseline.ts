/**
 * The machine's ceiling for the same load: a bare node:http process that
 * answers a status-sized JSON body, read by autocannon exactly like the API.
 * Set beside the API's figure, it says how much of the gap is the machine.
 */
import autocannon from 'autocannon';
import { baseEnv, freePort, spawnLogged } from './processes.ts';

const SERVER = `
const body = JSON.stringify({
  uuid: '1c0ffee0-fa4e-4000-8000-000000000001', state: 'waiting', finished: false, error: null,
  started_at: '2026-01-01T00:00:00.000000', finished_at: null,
  links: [{ rel: 'self', href: 'http://127.0.0.1/v1/introspection/1c0ffee0-fa4e-4000-8000-000000000001' }],
});
require('node:http')
  .createServer((req, res) => { res.setHeader('Content-Type', 'application/json'); res.end(body); })
  .listen(Number(process.argv[1]), '127.0.0.1', () => console.log('baseline listening'));
`;

export interface Baseline {
  requestsPerSecond: number;
  p50: number;
  p99: number;
}

export async function bareHttpBaseline(
  logDir: string,
  connections: number,
  seconds: number,
): Promise<Baseline> {
  const port = await freePort();
  const proc = spawnLogged('baseline-http', process.execPath, ['-e', SERVER, String(port)], {
    env: baseEnv(),
    logDir,
  });
  try {
    await proc.waitFor(/baseline listening/, 10_000);
    const r = await autocannon({
      url: `http://127.0.0.1:${port}/v1/introspection/x`,
      connections,
      duration: seconds,
    });
    return {
      requestsPerSecond: Math.round(r.requests.average),
      p50: r.latency.p50,
      p99: r.latency.p99,
    };
  } finally {
    await proc.stop(5_000);
  }
}
