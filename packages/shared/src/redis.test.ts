import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { IronicError } from './ironic/client.ts';
import { isRedisUnavailable, parseRedisUrl, redactRedisUrl } from './redis.ts';

describe('parseRedisUrl', () => {
  it('passes redis:// and rediss:// URLs to ioredis as they are', () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://u:p%40ss@redis.example:6380/2']) {
      expect(parseRedisUrl(url)).toEqual({ kind: 'standalone', url });
    }
  });

  it('reads a Sentinel URL: sentinels, master name, database and credentials', () => {
    expect(
      parseRedisUrl(
        'redis-sentinel://app:s%3Acret@10.0.0.1:26379,[fd00::2]:26380,sentinel-3/my%20master?db=3&sentinel_password=w%26x',
      ),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'fd00::2', port: 26380 },
        { host: 'sentinel-3', port: 26379 },
      ],
      name: 'my master',
      db: 3,
      username: 'app',
      password: 's:cret',
      sentinelPassword: 'w&x',
    });
    expect(parseRedisUrl('redis-sentinel://:pw@h:1/m')).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: 'h', port: 1 }],
      name: 'm',
      db: 0,
      password: 'pw',
    });
  });

  it('reads a Cluster URL: seed nodes (6379 by default) and credentials', () => {
    expect(parseRedisUrl('redis-cluster://:pw@node-a:7000,node-b,10.1.1.3:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'node-a', port: 7000 },
        { host: 'node-b', port: 6379 },
        { host: '10.1.1.3', port: 7002 },
      ],
      password: 'pw',
    });
  });

  it.each([
    ['http://127.0.0.1:6379', /unsupported scheme http:/],
    ['127.0.0.1:6379', /expected redis:\/\//],
    ['redis-sentinel://h1:26379,h2:26379', /ends with \/<master name>/],
    ['redis-sentinel://h1:26379/a/b', /ends with \/<master name>/],
    ['redis-sentinel:///mymaster', /at least one host:port/],
    ['redis-sentinel://h1:26379,,h2/m', /"" is not host:port/],
    ['redis-sentinel://h1:99999/m', /"h1:99999" is not host:port/],
    ['redis-sentinel://h1/m?db=x', /db must be a database number, got "x"/],
    [
      'redis-sentinel://h1/m?role=slave',
      /unknown parameter role \(redis-sentinel takes db, sentinel_password\)/,
    ],
    ['redis-cluster://h1:7000/0', /no path/],
    ['redis-cluster://h1:7000?db=1', /unknown parameter db \(redis-cluster takes none\)/],
    ['redis-cluster://:%E0%A4%A@h1:7000', /bad %-escape/],
    ['redis://:pw%zz@h:6379', /bad %-escape/],
  ])('refuses %s with a message naming the problem', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('never repeats a password in its messages', () => {
    expect(() => parseRedisUrl('redis-sentinel://:hunter2@h1:26379')).toThrow(
      /^(?!.*hunter2)REDIS_URL: /,
    );
  });
});

describe('REDIS_URL in the configuration', () => {
  it('accepts each form and keeps the URL as given', () => {
    for (const url of [
      'redis://r:6379/1',
      'redis-sentinel://s1,s2/mymaster',
      'redis-cluster://c1:7000',
    ]) {
      expect(loadConfig({ REDIS_URL: url }).REDIS_URL).toBe(url);
    }
  });

  it('names the variable and masks the passwords of a bad URL', () => {
    let error: unknown;
    try {
      loadConfig({ REDIS_URL: 'redis-sentinel://:hunter2@h1:26379?sentinel_password=swordfish' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(
      'REDIS_URL="redis-sentinel://:***@h1:26379?sentinel_password=***": a redis-sentinel URL ends with /<master name>',
    );
    expect(message).not.toMatch(/hunter2|swordfish/);
  });
});

describe('redactRedisUrl', () => {
  it('masks the password and leaves a URL without one alone', () => {
    expect(redactRedisUrl('rediss://user:p@ss@host:6380')).toBe('rediss://user:***@host:6380');
    expect(redactRedisUrl('redis://host:6379/0')).toBe('redis://host:6379/0');
  });
});

describe('isRedisUnavailable', () => {
  it('knows the errors of a Redis that cannot be reached', () => {
    for (const message of [
      "Stream isn't writeable and enableOfflineQueue options is false",
      'Connection is closed.',
      'connect ECONNREFUSED 127.0.0.1:6379',
      'Command timed out',
      (new MaxRetriesPerRequestError(1) as Error).message,
      'Command aborted due to connection close',
    ]) {
      expect(isRedisUnavailable(new Error(message)), message).toBe(true);
    }
    expect(isRedisUnavailable(new Error('ERR unknown command'))).toBe(false);
  });

  it("knows Redis's refusals of a command it would take another time, in scripts too", () => {
    for (const message of [
      "OOM command not allowed when used memory > 'maxmemory'. script: 1bf2, on @user_script:1.",
      "READONLY You can't write against a read only replica.",
      'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist',
      'BUSY Redis is busy running a script.',
      'NOREPLICAS Not enough good replicas to write.',
    ]) {
      expect(isRedisUnavailable(new ReplyError(message)), message).toBe(true);
    }
    for (const message of [
      'BUSYGROUP Consumer Group name already exists',
      'ERR OOM in a message',
    ]) {
      expect(isRedisUnavailable(new ReplyError(message)), message).toBe(false);
    }
  });

  it('leaves our own errors alone, even when they quote a socket error', () => {
    const ironic = new IronicError('Get node n1', 0, 'Ironic unreachable: connect ECONNREFUSED');
    expect(isRedisUnavailable(ironic)).toBe(false);
  });
});
