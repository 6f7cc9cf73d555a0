/**
 * Debian's Keystone (22, Zed) for the keystone test cases: under REAL_KEYSTONE=1
 * each test file that needs one starts its own with
 * shared/real-keystone/keystone-up, in a directory and on a port of its own;
 * REAL_KEYSTONE_URL points the cases at one already running instead.
 * One per file, so a file runs alone as it runs in the suite and no file's
 * revocations or refused passwords reach another file's cases.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ROOT, freePort, requireExecutables } from '../helpers/processes.ts';

const run = promisify(execFile);

const SCRIPTS = path.resolve(ROOT, '../shared/real-keystone');
const KEYSTONE_UP = path.join(SCRIPTS, 'keystone-up');
const KEYSTONE_DOWN = path.join(SCRIPTS, 'keystone-down');

/**
 * Keystone revokes every token issued in the same second as a change to users
 * or roles: tokens the tests take must come from a later second than the
 * start's last change.
 */
const AFTER_SETUP_MS = 2_000;

const GIVEN_URL = process.env.REAL_KEYSTONE_URL;

/** A cold start takes 25 s on an idle machine; CI starts it beside the other suites. */
const KEYSTONE_UP_TIMEOUT_MS = 180_000;

/** Whether this run asked for the real Keystone cases. */
export const REAL_KEYSTONE_WANTED = process.env.REAL_KEYSTONE === '1' || Boolean(GIVEN_URL);

export const REAL_KEYSTONE_SKIPPED =
  'real Keystone cases NOT run: set REAL_KEYSTONE=1 to have the tests start Debian Keystone ' +
  '(`bash .ci/run` installs it and sets it), or REAL_KEYSTONE_URL for one already running';

/** Time for startRealKeystone at worst (two starts and a stop): the hook that calls it needs it. */
export const REAL_KEYSTONE_START_MS = 2 * KEYSTONE_UP_TIMEOUT_MS + 60_000;

export interface RealKeystone {
  url: string;
  close(): Promise<void>;
}

/** The Keystone at REAL_KEYSTONE_URL (left running), or a new one (stopped and wiped by close). */
export async function startRealKeystone(): Promise<RealKeystone> {
  if (GIVEN_URL) return { url: GIVEN_URL, close: async () => {} };
  requireExecutables(
    [KEYSTONE_UP, '/usr/bin/keystone-manage', '/usr/bin/uwsgi_python3'],
    "REAL_KEYSTONE=1 needs Debian's keystone and uwsgi-plugin-python3 (`bash .ci/run` installs them)",
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'real-keystone-'));
  const port = await freePort();
  const env = { ...process.env, KEYSTONE_DIR: dir, KEYSTONE_PORT: String(port) };
  const close = async () => {
    await run(KEYSTONE_DOWN, [], { env: { ...env, RESET: '1' } });
  };
  try {
    await run(KEYSTONE_UP, [], { env, timeout: KEYSTONE_UP_TIMEOUT_MS });
    // On a new Keystone, keystone-up checks each user's password before granting its role;
    // that check caches the user's empty role list in whichever uWSGI process answered it,
    // for 60 s (the per-process cache), and that process then refuses the user's tokens.
    // A restart on the same state empties the caches and changes nothing.
    await run(KEYSTONE_DOWN, [], { env });
    await run(KEYSTONE_UP, [], { env, timeout: KEYSTONE_UP_TIMEOUT_MS });
  } catch (err) {
    const log = await readFile(path.join(dir, 'uwsgi.log'), 'utf8').catch(() => '');
    await close();
    throw new Error(`keystone-up failed: ${(err as Error).message}\n${log.slice(-3000)}`);
  }
  await sleep(AFTER_SETUP_MS);
  return { url: `http://127.0.0.1:${port}`, close };
}
