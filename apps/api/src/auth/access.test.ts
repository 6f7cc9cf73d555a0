import { describe, expect, it } from 'vitest';
import { accessFor, isAdmin } from './access.ts';

describe('accessFor', () => {
  it.each([
    ['GET', '/'],
    ['HEAD', '/'],
    ['GET', '/v1'],
    ['GET', '/v1/'],
    ['GET', '/V1'],
    ['POST', '/v1/continue'],
    ['POST', '/v1/continue/'],
    ['post', '/V1/Continue'],
    ['GET', '/healthz'],
    ['HEAD', '/readyz'],
    ['GET', '/metrics'],
    ['GET', '/v1/openapi.json'],
  ])('%s %s is public, matched as the router matches it', (method, path) => {
    expect(accessFor(method, path)).toBe('public');
  });

  it.each([
    ['GET', '/v1/continue'],
    ['POST', '/v1'],
    ['DELETE', '/'],
    ['OPTIONS', '/v1/continue'],
    ['GET', '/v1//'],
    ['GET', '/v1/introspection'],
    ['POST', '/v1/introspection/node-0'],
    ['GET', '/v1/%63ontinue'],
    ['POST', '/metrics'],
    ['GET', '/dashboardx'],
    ['GET', '/anything/else'],
  ])('%s %s needs a caller with full rights', (method, path) => {
    expect(accessFor(method, path)).toBe('role');
  });

  it.each([
    ['GET', '/dashboard'],
    ['GET', '/dashboard/'],
    ['PUT', '/dashboard/api/queues/introspection/pause'],
  ])('%s %s needs any authenticated caller', (method, path) => {
    expect(accessFor(method, path)).toBe('authenticated');
  });
});

describe('isAdmin', () => {
  const ctx = (auth: unknown) => ({ state: { auth } }) as Parameters<typeof isAdmin>[0];

  it('is true only for an identity with full rights', () => {
    expect(isAdmin(ctx({ isAdmin: true }))).toBe(true);
    expect(isAdmin(ctx({ isAdmin: false }))).toBe(false);
    expect(isAdmin(ctx(undefined))).toBe(false);
  });
});
