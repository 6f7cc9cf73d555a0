import { describe, expect, it } from 'vitest';
import { parseHtpasswd } from './htpasswd.ts';

const BCRYPT_TAIL = '04$cFfel4LWx7m87JWrj9YB6ex4MfpPBwCXk7OLCedzpb2MS1jt4KR.2';

describe('parseHtpasswd', () => {
  it('takes bcrypt entries in every spelling and skips the rest, naming the line', () => {
    const text = [
      '# a comment',
      `y:$2y$${BCRYPT_TAIL}`,
      '',
      `a:$2a$${BCRYPT_TAIL}\r`,
      `b:$2b$${BCRYPT_TAIL}`,
      'md5:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/',
      'sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      'plain:secret',
      'no-colon',
      `:$2y$${BCRYPT_TAIL}`,
      `short:$2y$04$tooShort`,
    ].join('\n');
    const { users, skipped } = parseHtpasswd(text);
    expect([...users.keys()]).toEqual(['y', 'a', 'b']);
    expect(users.get('a')).toBe(`$2a$${BCRYPT_TAIL}`);
    expect(skipped).toEqual([
      { line: 6, user: 'md5' },
      { line: 7, user: 'sha' },
      { line: 8, user: 'plain' },
      { line: 9, user: '' },
      { line: 10, user: '' },
      { line: 11, user: 'short' },
    ]);
  });

  it('keeps the first entry of a user listed twice, as Apache does', () => {
    const { users } = parseHtpasswd(`u:$2y$${BCRYPT_TAIL}\nu:$2b$${BCRYPT_TAIL}\n`);
    expect(users.get('u')).toBe(`$2y$${BCRYPT_TAIL}`);
  });
});
