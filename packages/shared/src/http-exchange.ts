import http from 'node:http';
import https from 'node:https';

/**
 * One HTTP exchange over node:http with keep-alive agents. Measured by
 * `npm run bench -- --only http-client`: a third of the client CPU of `fetch`
 * per call, and a node makes about twelve Ironic calls.
 */
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

export class ExchangeTimeout extends Error {
  override readonly name = 'TimeoutError';
}

export interface ExchangeRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** The whole exchange, answer body included, must end within this. */
  timeoutMs: number;
}

export function exchange(
  url: URL,
  req: ExchangeRequest,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
    const headers =
      req.body === undefined
        ? req.headers
        : { ...req.headers, 'Content-Length': String(Buffer.byteLength(req.body)) };
    const request = (protocol === 'https:' ? https : http).request(
      url,
      { method: req.method, headers, agent: AGENTS[protocol] },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          settle(() =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          ),
        );
        res.on('error', (err) => settle(() => reject(err)));
      },
    );
    const timer = setTimeout(() => {
      settle(() => reject(new ExchangeTimeout(`no answer within ${req.timeoutMs} ms`)));
      request.destroy();
    }, req.timeoutMs);
    request.on('error', (err) => settle(() => reject(err)));
    request.end(req.body);
  });
}
