import net from 'node:net';

export interface LoseOptions {
  /**
   * Passes the reply's first line on before dropping the connection: with a nil or simple
   * reply first, the client sees the first of two pipelined commands answered and the second
   * not, which ioredis rejects rather than sending again.
   */
  keepFirstLine?: boolean;
}

export interface ReplyDroppingProxy {
  url: string;
  /**
   * Arms the proxy: the next write whose bytes `match` goes on to Redis, which runs it, and the
   * client's connection is dropped as the reply comes back, which the client never sees.
   * Resolves once that has happened, with the bytes of that write (RESP, as text).
   */
  loseReplyTo(match: (command: string) => boolean, opts?: LoseOptions): Promise<string>;
  close(): Promise<void>;
}

interface Armed extends LoseOptions {
  match: (command: string) => boolean;
  dropped: (command: string) => void;
}

/**
 * A TCP proxy in front of Redis that loses a reply on demand, as a connection cut at the worst
 * moment does (a failover, a proxy restarting, a network blip): Redis has run the command, and
 * the client either sends it again after reconnecting or rejects it.
 */
export async function startReplyDroppingProxy(redisUrl: string): Promise<ReplyDroppingProxy> {
  const target = new URL(redisUrl);
  let armed: Armed | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    let drop: { keepFirstLine: boolean; done: () => void } | null = null;
    client.on('data', (chunk) => {
      const text = chunk.toString('utf8');
      if (armed?.match(text)) {
        const { dropped, keepFirstLine = false } = armed;
        drop = { keepFirstLine, done: () => dropped(text) };
        armed = null;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (client.destroyed || upstream.isPaused()) return;
      if (!drop) {
        client.write(chunk);
        return;
      }
      const cut = () => {
        client.destroy();
        upstream.destroy();
      };
      const lineEnd = chunk.indexOf('\r\n');
      if (drop.keepFirstLine && lineEnd >= 0) {
        // Nothing more goes either way; the line reaches the client before the cut.
        upstream.pause();
        client.write(chunk.subarray(0, lineEnd + 2), cut);
      } else cut();
      drop.done();
      drop = null;
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    loseReplyTo(match, opts = {}) {
      return new Promise((dropped) => {
        armed = { match, dropped, ...opts };
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
