import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeTimeout, exchange } from './http-exchange.ts';

/** Real sockets: a TCP server that never speaks (a TLS handshake that never ends), and HTTP. */
let mute: net.Server;
let server: http.Server;
let base: string;
const held: http.ServerResponse[] = [];
beforeAll(async () => {
  mute = net.createServer(() => undefined).listen(0, '127.0.0.1');
  server = http
    .createServer((req, res) => {
      if (req.url === '/hold') {
        held.push(res);
        return;
      }
      res.end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
    })
    .listen(0, '127.0.0.1');
  await Promise.all([mute, server].map((s) => new Promise((r) => s.once('listening', r))));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  mute.close();
  server.closeAllConnections();
  server.close();
});

const get = (url: string, timeoutMs: number) =>
  exchange(new URL(url), { method: 'GET', headers: {}, timeoutMs });

describe('exchange', () => {
  // undici acts on an abort only once a request has a connection; its own connect timeout is 10 s.
  it('times out within its timeout while still connecting', async () => {
    const started = Date.now();
    const port = (mute.address() as AddressInfo).port;
    await expect(get(`https://127.0.0.1:${port}/`, 200)).rejects.toBeInstanceOf(ExchangeTimeout);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('times out an answer that never comes', async () => {
    await expect(get(`${base}/hold`, 200)).rejects.toBeInstanceOf(ExchangeTimeout);
  });

  it('sends credentials written in the URL as Basic authorization, as node:http did', async () => {
    const url = `http://us%40er:p%3Ass@${base.slice('http://'.length)}/`;
    const res = await get(url, 2_000);
    expect(JSON.parse(res.text)).toEqual({
      authorization: `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`,
    });
    expect(JSON.parse((await get(`${base}/`, 2_000)).text)).toEqual({ authorization: null });
  });
});
