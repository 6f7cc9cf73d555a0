/**
 * What one Ironic call costs the service in CPU, client side only: the
 * service's IronicClient against the fake Ironic (its own process), next to
 * bare undici, fetch and node:http keep-alive requests for the same URL.
 */
import http from 'node:http';
import { IronicClient } from '@inspector/shared';
import { Agent } from 'undici';
import { nodeSpec } from '../../test/fixtures/fake-ironic.ts';
import { baseEnv, freePort, startNodeEntry } from '../lib/processes.ts';
import { microsecondFigures } from './common.ts';
import type { Scenario, ScenarioResult } from './types.ts';

const CALLS = 5_000;
const CONCURRENCY = 50;
const ROUNDS = 2;
const HEADERS = { Accept: 'application/json', 'X-OpenStack-Ironic-API-Version': '1.46' };

/** CPU microseconds of this process per call, running `calls` calls `concurrency` at a time. */
async function cpuPerCall(fn: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  let started = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (started++ < CALLS) await fn();
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / CALLS;
}

export const httpClient: Scenario = {
  name: 'http-client',
  summary:
    'CPU per Ironic call, client side: the service IronicClient vs bare undici, fetch and node:http',
  optIn: true,
  async run(ctx): Promise<ScenarioResult> {
    const port = await freePort();
    const ironic = startNodeEntry('fake-ironic', 'test/fixtures/fake-ironic-cli.ts', {
      env: baseEnv(),
      logDir: ctx.dir,
      args: ['--nodes', '1', '--port', String(port), '--quiet'],
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const pools = new Agent({ connections: CONCURRENCY });
    try {
      await ironic.waitFor(/fake-ironic listening/);
      const base = `http://127.0.0.1:${port}`;
      const uuid = nodeSpec(0).uuid;
      const url = `${base}/v1/nodes/${uuid}`;
      const client = new IronicClient({
        url: base,
        apiVersion: '1.46',
        timeoutMs: 10_000,
        retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
      });
      const ways: Record<string, () => Promise<unknown>> = {
        'IronicClient.getNode (undici, timeout, JSON, zod)': () => client.getNode(uuid),
        'bare undici + JSON.parse': async () => {
          const res = await pools.request({
            origin: base,
            path: `/v1/nodes/${uuid}`,
            method: 'GET',
            headers: HEADERS,
          });
          return JSON.parse(await res.body.text()) as unknown;
        },
        'bare fetch + JSON.parse': async () => {
          const res = await fetch(url, { headers: HEADERS });
          return JSON.parse(await res.text()) as unknown;
        },
        'bare node:http keep-alive + JSON.parse': () =>
          new Promise((resolve, reject) => {
            http
              .get(url, { agent, headers: HEADERS }, (res) => {
                let body = '';
                res.setEncoding('utf8');
                res.on('data', (chunk: string) => (body += chunk));
                res.on('end', () => resolve(JSON.parse(body) as unknown));
              })
              .on('error', reject);
          }),
      };
      const best: Record<string, number> = {};
      for (let r = 0; r < ROUNDS; r++) {
        for (const [name, fn] of Object.entries(ways)) {
          ctx.log(`round ${r + 1}: ${name}`);
          const us = await cpuPerCall(fn);
          best[name] = Math.min(best[name] ?? Infinity, us);
        }
      }
      const figures = microsecondFigures('CPU per call', best, 0);
      return {
        status: 'ok',
        figures,
        notes: [
          `${CALLS} GETs of one node at concurrency ${CONCURRENCY}, best of ${ROUNDS} rounds; CPU of the bench ` +
            `process only (the fake Ironic runs in its own process), so each figure is the client's cost`,
        ],
        details: {
          calls: CALLS,
          concurrency: CONCURRENCY,
          rounds: ROUNDS,
          microsecondsPerCall: best,
        },
      };
    } finally {
      agent.destroy();
      await pools.close();
      await ironic.stop(5_000);
    }
  },
};
