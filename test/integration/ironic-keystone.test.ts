import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_HOLD_MS, ironicClientFromConfig, loadConfig } from '@inspector/shared';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { startFakeKeystone, type FakeKeystone } from '../fixtures/fake-keystone.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

/**
 * An OpenStack Ironic sits behind Keystone's auth middleware: the service
 * sends its own token (IRONIC_AUTH_STRATEGY=keystone) and replaces it when
 * Keystone revokes it. The fake Ironic checks each token with the fake Keystone.
 */
let keystone: FakeKeystone;
let stack: Stack;

beforeAll(async () => {
  keystone = await startFakeKeystone();
  stack = await startStack(
    {
      IRONIC_AUTH_STRATEGY: 'keystone',
      KEYSTONE_URL: keystone.url,
      KEYSTONE_USERNAME: 'inspector',
      KEYSTONE_PASSWORD: 'inspectorpass',
      KEYSTONE_PROJECT: 'service',
    },
    { nodes: 5, acceptsToken: (token) => keystone.isLive(token) },
  );
});
afterAll(async () => {
  await stack?.close();
  await keystone?.close();
});

const introspect = async (index: number) => {
  const { uuid } = nodeSpec(index);
  const started = await api(stack, 'POST', `/v1/introspection/${uuid}`);
  expect(started.status).toBe(202);
  return { uuid, final: await finishedStatus(stack, uuid) };
};

describe('Ironic behind Keystone', () => {
  it('introspects a node with every Ironic call carrying a live service token', async () => {
    const { uuid, final } = await introspect(0);
    expect(final).toMatchObject({ state: 'finished', error: null });
    expect(stack.ironic.node(uuid)!.properties).toMatchObject({ cpus: '8' });
    const calls = stack.ironic.calls({ node: uuid });
    expect(calls.length).toBeGreaterThanOrEqual(10);
    expect(calls.filter((c) => !keystone.isLive(c.token ?? undefined))).toEqual([]);
    expect(stack.ironic.calls({ status: 401 })).toEqual([]);
  });

  it('replaces a token Keystone revoked, and goes on', async () => {
    const last = stack.ironic.calls().at(-1)!.token!;
    keystone.revoke(last);
    const { uuid, final } = await introspect(1);
    expect(final).toMatchObject({ state: 'finished', error: null });
    const refused = stack.ironic.calls({ status: 401 });
    expect(refused.map((c) => c.token)).toEqual(refused.map(() => last));
    expect(refused.length).toBeGreaterThan(0);
    expect(stack.ironic.calls({ node: uuid }).at(-1)!.token).not.toBe(last);
  });

  it('answers 503 naming Keystone when it refuses the service credentials', async () => {
    const user = keystone.users.get('inspector')!;
    user.password = 'changed-meanwhile';
    // As Keystone does on a password change: every token of the user (API's and worker's) goes.
    const tokens = new Set(stack.ironic.calls().map((c) => c.token));
    for (const token of tokens) if (keystone.isLive(token ?? undefined)) keystone.revoke(token!);
    keystone.resetCounts();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await api(stack, 'POST', `/v1/introspection/${nodeSpec(2).uuid}`);
        expect(res.status).toBe(503);
        expect(res.body.error.message).toContain(
          `no token for Ironic: Keystone at ${keystone.url} refused the service credentials`,
        );
      }
      // Refused once, then held: no retries, and no stream of failed logins for three requests.
      expect(keystone.counts.authenticate).toBe(1);
    } finally {
      user.password = 'inspectorpass';
    }
    await new Promise((resolve) => setTimeout(resolve, REFUSAL_HOLD_MS));
    expect((await introspect(3)).final).toMatchObject({ state: 'finished' });
  });

  it('without IRONIC_AUTH_STRATEGY=keystone, the refusal says what to set', async () => {
    const client = ironicClientFromConfig(
      loadConfig({ IRONIC_URL: stack.ironic.url, IRONIC_RETRY_ATTEMPTS: '1' }),
      'worker',
    );
    await expect(client.getNode(nodeSpec(4).uuid)).rejects.toThrow(
      'HTTP 401: The request you have made requires authentication. (IRONIC_AUTH_STRATEGY=keystone sends a token)',
    );
  });
});
