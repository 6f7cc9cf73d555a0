import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, ServiceUnavailable, type Logger } from '@inspector/shared';

/** bcrypt in Apache's ($2y$) and the other common spellings: cost, 22-char salt, 31-char hash. */
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

export interface Htpasswd {
  /** User name → bcrypt hash. */
  users: Map<string, string>;
  /** Lines that were not `user:bcrypt-hash` (1-based), with the user they named if any. */
  skipped: { line: number; user: string }[];
}

/** Parses an Apache htpasswd file; only bcrypt entries count, as upstream accepts. */
export function parseHtpasswd(text: string): Htpasswd {
  const users = new Map<string, string>();
  const skipped: Htpasswd['skipped'] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon) : '';
    const hash = colon > 0 ? line.slice(colon + 1).trim() : '';
    if (!user || !BCRYPT.test(hash)) skipped.push({ line: i + 1, user });
    // The first entry wins, as Apache and upstream's reader stop at the first match.
    else if (!users.has(user)) users.set(user, hash);
  });
  return { users, skipped };
}

/** Stat before read: a change landing between the two is seen by the next request. */
const signatureOf = (s: Stats) => `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

/**
 * The htpasswd file, re-read when it changes so users can be added or removed without a
 * restart. Upstream re-reads it on every request; here one stat per request notices a change
 * (modification time, size or inode, so a file replaced by a rename counts too).
 */
export class HtpasswdFile {
  private signature: string;
  private current: Map<string, string>;
  private reloading: Promise<Map<string, string>> | null = null;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
  ) {
    // Read once now, so a missing or unreadable file stops start-up instead of every request.
    try {
      this.signature = signatureOf(statSync(path));
      this.current = this.load(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`HTPASSWD_FILE=${path}: cannot read it (${(err as Error).message})`);
    }
  }

  /** The users as the file says now. */
  async users(): Promise<Map<string, string>> {
    let signature: string;
    try {
      signature = signatureOf(await stat(this.path));
    } catch (err) {
      throw this.unreadable(err);
    }
    if (signature === this.signature) return this.current;
    this.reloading ??= readFile(this.path, 'utf8')
      .then(
        (text) => {
          this.current = this.load(text);
          this.signature = signature;
          return this.current;
        },
        (err: unknown) => {
          throw this.unreadable(err);
        },
      )
      .finally(() => {
        this.reloading = null;
      });
    return this.reloading;
  }

  private load(text: string): Map<string, string> {
    const { users, skipped } = parseHtpasswd(text);
    for (const s of skipped) {
      this.logger.warn(
        { file: this.path, line: s.line, user: s.user },
        'htpasswd line ignored: only user:bcrypt-hash lines are accepted',
      );
    }
    this.logger.info({ file: this.path, users: users.size }, 'htpasswd file loaded');
    return users;
  }

  private unreadable(err: unknown): ServiceUnavailable {
    this.logger.error(
      { file: this.path, err: (err as Error).message },
      'cannot read htpasswd file',
    );
    return new ServiceUnavailable('Cannot check credentials: the password file is unreadable');
  }
}
