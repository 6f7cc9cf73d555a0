import net from 'node:net';

export interface ReplyDroppingProxy {
  url: string;
  /**
   * Arms the proxy: the next command whose bytes hold `marker` goes on to Redis, which runs it,
   * and the client's connection is dropped as the reply comes back, which the client never sees.
   * Resolves once that has happened, with the bytes of the command (RESP, as text).
   */
  loseReplyTo(marker: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of Redis that loses one reply on demand, as a connection cut at the worst
 * moment does (a failover, a proxy restarting, a network blip): ioredis reconnects and sends the
 * unanswered command again, to a Redis that has already run it once.
 */
export async function startReplyDroppingProxy(redisUrl: string): Promise<ReplyDroppingProxy> {
  const target = new URL(redisUrl);
  let armed: { marker: string; dropped: (command: string) => void } | null = null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    let dropNextReply: (() => void) | null = null;
    client.on('data', (chunk) => {
      if (armed && chunk.includes(armed.marker)) {
        const { dropped } = armed;
        dropNextReply = () => dropped(chunk.toString('utf8'));
        armed = null;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (dropNextReply) {
        client.destroy();
        upstream.destroy();
        dropNextReply();
        return;
      }
      client.write(chunk);
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
    loseReplyTo(marker) {
      return new Promise((dropped) => {
        armed = { marker, dropped };
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
