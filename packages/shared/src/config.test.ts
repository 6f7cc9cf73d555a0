import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('gives every setting its documented default', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 5050,
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: '{inspector}',
      INTROSPECTION_TIMEOUT_S: 3600,
      NODE_STATUS_KEEP_TIME_S: 604_800,
      PROCESSING_HOOKS: ['ramdisk_error', 'scheduler', 'validate_interfaces'],
      ADD_PORTS: 'pxe',
      KEEP_PORTS: 'all',
      POWER_MANAGEMENT: 'ironic',
      ENABLE_SETTING_IPMI_CREDENTIALS: false,
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['IRONIC_URL', 'not a url'],
    ['REDIS_PREFIX', 'inspector'],
    ['PROCESSING_HOOKS', 'scheduler,no_such_hook'],
    ['ADD_PORTS', 'some'],
    ['OVERWRITE_EXISTING', 'maybe'],
    ['INTROSPECTION_TIMEOUT_S', '-1'],
    ['IRONIC_API_VERSION', '1.6'],
    ['IRONIC_API_VERSION', 'latest'],
  ])('stops on a bad %s, naming the variable and the value', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('parses booleans and lists the way operators write them', () => {
    const config = loadConfig({
      OVERWRITE_EXISTING: 'no',
      PROCESSING_HOOKS: ' root_device_hint , scheduler ',
    });
    expect(config.OVERWRITE_EXISTING).toBe(false);
    expect(config.PROCESSING_HOOKS).toEqual(['root_device_hint', 'scheduler']);
  });
});
