import { describe, expect, it } from 'vitest';
import { parseCommandStats } from './redis-server.ts';

describe('parseCommandStats', () => {
  it('reads the calls of every command, subcommands included', () => {
    const info = [
      '# Commandstats',
      'cmdstat_evalsha:calls=1200,usec=90000,usec_per_call=75.00,rejected_calls=0,failed_calls=0',
      'cmdstat_client|setname:calls=4,usec=8,usec_per_call=2.00,rejected_calls=0,failed_calls=0',
      'cmdstat_hgetall:calls=7,usec=21,usec_per_call=3.00,rejected_calls=0,failed_calls=0',
      '',
    ].join('\r\n');
    expect(parseCommandStats(info)).toEqual({ evalsha: 1200, 'client|setname': 4, hgetall: 7 });
  });

  it('is empty for a server that has run nothing yet', () => {
    expect(parseCommandStats('# Commandstats\r\n')).toEqual({});
  });
});
