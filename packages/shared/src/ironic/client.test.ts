import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IronicAnswerLost, IronicClient, IronicError, laterVersion } from './client.ts';

/**
 * Which reboots the client sends again on its own, against real sockets: one
 * refused at connect never reached Ironic; one whose connection was cut after
 * it was sent may have been carried out.
 */
const NODE = '1c0ffee0-fa4e-4000-8000-000000000001';
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(onSocket: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(onSocket);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const port = await listen(() => undefined);
  await new Promise((r) => servers.pop()!.close(r));
  return port;
}

async function reboot(port: number): Promise<{ err: IronicError; calls: number }> {
  let calls = 0;
  const client = new IronicClient({
    url: `http://127.0.0.1:${port}`,
    apiVersion: '1.46',
    timeoutMs: 2_000,
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 },
    onCall: () => calls++,
  });
  const err = await client.setPowerState(NODE, 'rebooting').then(
    () => {
      throw new Error('the reboot succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IronicError);
  return { err: err as IronicError, calls };
}

describe('a reboot whose call failed without an answer', () => {
  it('is sent again when the connection was refused: Ironic never saw it', async () => {
    const { err, calls } = await reboot(await closedPort());
    expect(err.message).toMatch(/Ironic unreachable: .*ECONNREFUSED/);
    expect(err).not.toBeInstanceOf(IronicAnswerLost);
    expect(calls).toBe(3);
  });

  it('is not sent again when the connection was cut after the request went out', async () => {
    let received = 0;
    const port = await listen((socket) =>
      socket.once('data', () => {
        received++;
        socket.destroy();
      }),
    );
    const { err, calls } = await reboot(port);
    // For the caller to start over from: set PXE boot again, then reboot.
    expect(err).toBeInstanceOf(IronicAnswerLost);
    expect(err.message).toMatch(
      /^Set power state of node .* to rebooting failed: Ironic unreachable/,
    );
    expect(err.transient).toBe(true);
    expect([calls, received]).toEqual([1, 1]);
  });
});

describe('laterVersion', () => {
  it('compares microversions as numbers, not text', () => {
    expect(laterVersion('1.9', '1.37')).toBe('1.37');
    expect(laterVersion('1.46', '1.37')).toBe('1.46');
    expect(laterVersion('1.37', '1.37')).toBe('1.37');
    expect(laterVersion('1.46')).toBe('1.46');
  });
});

describe('an Ironic 409', () => {
  const conflict = (detail: string) =>
    new IronicError('Update node n1', 409, `HTTP 409: ${detail}`);

  it('is retried when the node is locked, as Ironic says', () => {
    const err = conflict(
      'Node n1 is locked by host conductor-1, please retry after the current operation is completed.',
    );
    expect([err.locked, err.transient, err.refusedBeforeActing]).toEqual([true, true, true]);
  });

  it('is not retried when it says the act is refused for good, or the port exists', () => {
    for (const detail of [
      'The requested action "deleted" can not be performed on node "n1" while it is in state "active".',
      'Node n1 is associated with instance i1.',
      'A port with MAC address 52:54:00:00:00:01 already exists.',
    ]) {
      expect([conflict(detail).locked, conflict(detail).transient], detail).toEqual([false, false]);
    }
    expect(conflict('A port with MAC address 52:54:00:00:00:01 already exists.').duplicate).toBe(
      true,
    );
  });
});
