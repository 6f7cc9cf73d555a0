import { describe, expect, it } from 'vitest';
import { parseBasic } from './http-basic.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('parseBasic', () => {
  it('splits at the first colon, so passwords may hold colons', () => {
    expect(parseBasic(`Basic ${b64('alice:pa:ss')}`)).toEqual({ user: 'alice', password: 'pa:ss' });
    expect(parseBasic(`basic   ${b64('bob:')}`)).toEqual({ user: 'bob', password: '' });
    expect(parseBasic(`Basic ${b64('zoë:pässwörd')}`)).toEqual({
      user: 'zoë',
      password: 'pässwörd',
    });
  });

  it.each([
    ['', 'empty'],
    [`Bearer ${b64('a:b')}`, 'another scheme'],
    ['Basic', 'no credentials'],
    ['Basic !!!', 'not base64'],
    [`Basic ${b64('nocolon')}`, 'no colon'],
    [`Basic ${b64(':password')}`, 'no user'],
  ])('refuses %j (%s)', (header) => {
    expect(parseBasic(header)).toBeNull();
  });
});
