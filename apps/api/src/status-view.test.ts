import { describe, expect, it } from 'vitest';
import type { NodeRecord } from '@inspector/shared';
import { forwardedPrefix, isoTime, statusView } from './status-view.ts';

describe('isoTime', () => {
  it('writes naive UTC with microseconds, as upstream clients parse it', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000000');
    expect(isoTime(Date.UTC(2026, 10, 27, 12, 39, 2, 847))).toBe('2026-11-27T12:39:02.847000');
  });
});

describe('forwardedPrefix', () => {
  it('reads the path a proxy mounts the API under, without its trailing slash', () => {
    expect(forwardedPrefix('/baremetal-introspection')).toBe('/baremetal-introspection');
    expect(forwardedPrefix(' /a/b/ ')).toBe('/a/b');
    expect(forwardedPrefix('/first, /second')).toBe('/first');
  });

  it('ignores an absent, root, unsafe or overlong prefix', () => {
    expect(forwardedPrefix(`${'/'.repeat(16_000)}a`)).toBe('');
    expect(forwardedPrefix(`/${'a'.repeat(1100)}`)).toBe('');
    for (const header of [
      '',
      '/',
      'relative',
      '/a b',
      '/a"b',
      '/a?x=1',
      '/a#b',
      '//evil.org',
      '/a\\b',
    ])
      expect(forwardedPrefix(header)).toBe('');
  });
});

describe('statusView', () => {
  const record: NodeRecord = {
    uuid: '1a1a1a1a-2b2b-3c3c-4d4d-5e5e5e5e5e5e',
    state: 'error',
    gen: 3,
    started_at: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    finished_at: Date.UTC(2026, 0, 2, 3, 9, 5, 6),
    error: 'Canceled by operator',
    manage_boot: true,
    bmc: [],
    macs: [],
    req_id: 'req-1',
    new_ipmi_username: null,
    auto_discovered: false,
  };

  it('answers what upstream answers, and nothing of the run kept for the service only', () => {
    expect(statusView(record, 'http://inspector:5050')).toEqual({
      uuid: record.uuid,
      state: 'error',
      finished: true,
      error: 'Canceled by operator',
      started_at: '2026-01-02T03:04:05.006000',
      finished_at: '2026-01-02T03:09:05.006000',
      links: [{ rel: 'self', href: `http://inspector:5050/v1/introspection/${record.uuid}` }],
    });
  });

  it('is unfinished while the run has no end time', () => {
    const view = statusView({ ...record, state: 'waiting', finished_at: null, error: null }, '');
    expect(view.finished).toBe(false);
    expect(view.finished_at).toBeNull();
  });
});
