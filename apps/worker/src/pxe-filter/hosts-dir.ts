import { chmod, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { normalizeMac } from '@inspector/shared';
import { UNKNOWN_HOSTS_FILE, hostsEntry, parseHostsEntry, type Policy } from './dnsmasq-plan.ts';

/** A file name the filter writes: a lower-case MAC, or the unknown-hosts file. */
function isFilterFile(name: string): boolean {
  return name === UNKNOWN_HOSTS_FILE || normalizeMac(name) === name;
}

/** Files read at once: a directory of every MAC Ironic has must not exhaust file descriptors. */
const READ_BATCH = 64;

/**
 * dnsmasq's --dhcp-hostsdir, as the filter keeps it. Each file is written whole under a dot name
 * and renamed into place: dnsmasq skips dot files, and a rename is one inotify event with the
 * whole text, where a write in place could be read half done.
 */
export class HostsDir {
  constructor(readonly dir: string) {}

  /** The policy each filter file sets now (null: text the filter did not write). */
  async read(): Promise<Map<string, Policy | null>> {
    const names = (await readdir(this.dir)).filter(isFilterFile);
    const files = new Map<string, Policy | null>();
    for (let i = 0; i < names.length; i += READ_BATCH) {
      const batch = names.slice(i, i + READ_BATCH);
      const texts = await Promise.all(
        batch.map((name) => readFile(path.join(this.dir, name), 'utf8')),
      );
      batch.forEach((name, j) => files.set(name, parseHostsEntry(name, texts[j]!)));
    }
    return files;
  }

  async write(name: string, policy: Policy): Promise<void> {
    if (!isFilterFile(name)) throw new Error(`not a hosts file name: ${JSON.stringify(name)}`);
    const temp = path.join(this.dir, `.${name}.tmp`);
    await writeFile(temp, hostsEntry(name, policy));
    // dnsmasq reads the files as the user it drops to: a strict umask must not hide them.
    await chmod(temp, 0o644);
    await rename(temp, path.join(this.dir, name));
  }

  /** Removes every file: what another process left is not trusted. */
  async purge(): Promise<number> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile());
    await Promise.all(files.map((e) => rm(path.join(this.dir, e.name))));
    return files.length;
  }
}
