import { describe, expect, it } from 'vitest';
import { sample } from '../../../test/helpers/metrics.ts';
import {
  BMC_OPERATIONS,
  IRONIC_OPERATIONS,
  Metrics,
  bmcOperation,
  ironicOperation,
  statusClass,
  type QueueCounts,
} from './metrics.ts';

const UUID = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';

describe('label sets', () => {
  it('maps every Ironic client operation onto a fixed name without ids', () => {
    const seen = [
      `Get node ${UUID}`,
      `Get node node-7`,
      `Validate node ${UUID}`,
      `List ports of node ${UUID}`,
      'List ports',
      `Create port 52:54:00:12:34:56 for node ${UUID}`,
      `Delete port 52:54:00:12:34:56 of node ${UUID}`,
      `Update node ${UUID}`,
      `Set boot device of node ${UUID} to pxe`,
      `Get boot device of node ${UUID}`,
      `Set power state of node ${UUID} to power off`,
      `Add trait CUSTOM_GPU to node ${UUID}`,
      `Remove trait CUSTOM_GPU from node ${UUID}`,
    ].map(ironicOperation);
    expect(seen).toEqual([
      'get_node',
      'get_node',
      'validate_node',
      'list_ports',
      'list_ports',
      'create_port',
      'delete_port',
      'update_node',
      'set_boot_device',
      'get_boot_device',
      'set_power_state',
      'add_trait',
      'remove_trait',
    ]);
    expect(ironicOperation(`Something new about ${UUID}`)).toBe('other');
    for (const op of seen) expect(IRONIC_OPERATIONS).toContain(op);
  });

  it('maps ipmitool operation names onto a fixed set', () => {
    expect(
      [
        'power status',
        'power on',
        'power off',
        'power soft',
        'power cycle',
        'bootparam get 5',
        'bootdev pxe',
        'bootdev disk',
        'mc info',
        'user set password 3',
      ].map(bmcOperation),
    ).toEqual([
      'power_status',
      'power_on',
      'power_off',
      'power_soft',
      'power_cycle',
      'get_boot_device',
      'set_boot_device',
      'set_boot_device',
      'mc_info',
      'other',
    ]);
    for (const op of BMC_OPERATIONS) expect(op).toMatch(/^[a-z_]+$/);
  });

  it('groups HTTP statuses into classes, no answer apart', () => {
    expect([200, 202, 304, 404, 409, 503, 0].map(statusClass)).toEqual([
      '2xx',
      '2xx',
      '3xx',
      '4xx',
      '4xx',
      '5xx',
      'none',
    ]);
  });
});

describe('Metrics', () => {
  it('gives each instance a registry of its own', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.introspectionsFinished.inc();
    expect(await sample(a, 'inspector_introspections_finished_total')).toBe(1);
    expect(await sample(b, 'inspector_introspections_finished_total')).toBe(0);
    expect(await b.registry.metrics()).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('counts Ironic exchanges, and as errors only 4xx, 5xx and no answer', async () => {
    const m = new Metrics();
    m.ironicCall(`Get node ${UUID}`, 200, 0.01);
    m.ironicCall(`Get node ${UUID}`, 404, 0.01);
    m.ironicCall(`Set power state of node ${UUID} to power on`, 0, 10);
    const count = (labels: Record<string, string>) =>
      sample(m, 'inspector_ironic_request_duration_seconds', { ...labels, le: '+Inf' });
    expect(await count({ operation: 'get_node', status_class: '2xx' })).toBe(1);
    expect(await count({ operation: 'get_node', status_class: '4xx' })).toBe(1);
    const errors = (labels: Record<string, string>) =>
      sample(m, 'inspector_ironic_request_errors_total', labels);
    expect(await errors({ operation: 'get_node', status_class: '2xx' })).toBeUndefined();
    expect(await errors({ operation: 'get_node', status_class: '4xx' })).toBe(1);
    expect(await errors({ operation: 'set_power_state', status_class: 'none' })).toBe(1);
    expect(await m.registry.metrics()).not.toContain(UUID);
  });

  it('counts BMC calls by result and failures by kind', async () => {
    const m = new Metrics();
    m.bmcCall('power on', true, 0.2);
    m.bmcCall('power on', false, 1, 'auth');
    m.bmcCall('bootdev pxe', false, 1);
    expect(
      await sample(m, 'inspector_bmc_call_duration_seconds', {
        operation: 'power_on',
        result: 'ok',
        le: '+Inf',
      }),
    ).toBe(1);
    expect(
      await sample(m, 'inspector_bmc_call_errors_total', { operation: 'power_on', kind: 'auth' }),
    ).toBe(1);
    expect(
      await sample(m, 'inspector_bmc_call_errors_total', {
        operation: 'set_boot_device',
        kind: 'command',
      }),
    ).toBe(1);
  });

  it('times job attempts by job name, any other name as other', async () => {
    const m = new Metrics();
    m.jobAttempt('process', 'completed', 1.5);
    m.jobAttempt('made-up-by-hand', 'failed', 0.1);
    const count = (job: string, outcome: string) =>
      sample(m, 'inspector_job_duration_seconds', { job, outcome, le: '+Inf' });
    expect(await count('process', 'completed')).toBe(1);
    expect(await count('other', 'failed')).toBe(1);
    expect(await m.registry.metrics()).not.toContain('made-up-by-hand');
  });

  it('counts runs from state changes and times whole runs', async () => {
    const m = new Metrics();
    m.storeChange({ event: 'start', from: null, to: 'starting', startedAt: 0, at: 0 });
    m.storeChange({ event: 'wait', from: 'starting', to: 'waiting', startedAt: 0, at: 1000 });
    m.storeChange({
      event: 'finish',
      from: 'processing',
      to: 'finished',
      startedAt: 0,
      at: 42_000,
    });
    m.storeChange({ event: 'timeout', from: 'waiting', to: 'error', startedAt: 0, at: 1000 });
    m.storeChange({ event: 'abort_end', from: 'aborting', to: 'error', startedAt: 0, at: 1000 });
    m.storeChange({ event: 'error', from: 'processing', to: 'error', startedAt: 0, at: 1000 });
    m.storeChange({ event: 'reapply', from: 'finished', to: 'reapplying', startedAt: 5, at: 5 });
    m.storeChange({ event: 'start', from: null, to: 'enrolling', startedAt: 6, at: 6 });
    expect(await sample(m, 'inspector_introspections_started_total', { kind: 'introspect' })).toBe(
      1,
    );
    expect(await sample(m, 'inspector_introspections_started_total', { kind: 'discover' })).toBe(1);
    expect(await sample(m, 'inspector_introspections_started_total', { kind: 'reapply' })).toBe(1);
    expect(await sample(m, 'inspector_introspections_finished_total')).toBe(1);
    for (const reason of ['timeout', 'aborted', 'error']) {
      expect(await sample(m, 'inspector_introspections_failed_total', { reason })).toBe(1);
    }
    const run = (outcome: string, le: string) =>
      sample(m, 'inspector_introspection_duration_seconds', { outcome, le });
    expect(await run('finished', '30')).toBe(0);
    expect(await run('finished', '60')).toBe(1);
    expect(await run('error', '+Inf')).toBe(3);
  });

  it('reads queue counts on scrape, at most once per cache period', async () => {
    const m = new Metrics();
    let reads = 0;
    let counts: QueueCounts = { introspection: { waiting: 3, active: 1 } };
    m.trackQueues(
      async () => {
        reads++;
        return counts;
      },
      { cacheMs: 60_000 },
    );
    await Promise.all([m.registry.metrics(), m.registry.metrics(), m.registry.metrics()]);
    const text = await m.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('inspector_queue_jobs{queue="introspection",state="waiting"} 3');
    expect(text).toContain('inspector_queue_jobs{queue="introspection",state="active"} 1');
    expect(text).toContain('inspector_queue_jobs{queue="introspection",state="failed"} 0');

    const fresh = new Metrics();
    reads = 0;
    fresh.trackQueues(
      async () => {
        reads++;
        return counts;
      },
      { cacheMs: 0 },
    );
    await fresh.registry.metrics();
    counts = { introspection: { waiting: 7 } };
    expect(await fresh.registry.metrics()).toContain(
      'inspector_queue_jobs{queue="introspection",state="waiting"} 7',
    );
    expect(reads).toBe(2);
  });

  it('answers a scrape without queue series when the counts cannot be read', async () => {
    const failing = new Metrics();
    failing.trackQueues(() => Promise.reject(new Error('Connection is closed.')));
    const hanging = new Metrics();
    hanging.trackQueues(() => new Promise<QueueCounts>(() => undefined), { timeoutMs: 10 });
    for (const m of [failing, hanging]) {
      const text = await m.registry.metrics();
      expect(text).toContain('# TYPE inspector_queue_jobs gauge');
      expect(text).not.toMatch(/^inspector_queue_jobs\{/m);
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    }
  });
});
