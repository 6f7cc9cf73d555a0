/**
 * `npm run demo`: a whole data centre on one machine. Starts a private
 * redis-server, the fake Ironic, N simulated BMCs whose machines run the
 * ramdisk simulator when they PXE-boot, the API and a worker; introspects the
 * N nodes with a live progress line and prints the queue dashboard's URL.
 * Runs until Ctrl-C (or, with --exit-when-done, until every node is done),
 * then stops and removes everything it started.
 *
 *   npm run demo -- [--nodes 10] [--ironic-power] [--port 5050] [--exit-when-done]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { nodeSpec, startFakeIronic, type FakeIronic } from '../test/fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../test/fixtures/ramdisk-sim.ts';
import { BMC_SIM, requireBmcSim, startSims, stopSims } from '../test/helpers/bmc-sim.ts';
import { ROOT, freePort } from '../test/helpers/processes.ts';
import { portAnswers, redisServerInstalled } from './lib/redis-server.ts';

const USAGE = `usage: npm run demo -- [options]
  --nodes N          nodes to introspect; default 10 (at most 200 BMCs, or 1000 with --ironic-power)
  --ironic-power     power the nodes through Ironic's API instead of simulated BMCs (ipmitool)
  --port P           API port; default 5050, or a free one when 5050 is taken
  --exit-when-done   stop once every node is finished or in error (exit 1 if any erred)
`;

/** The simulated BMCs' UDP ports lie in 10800-10999, out of the tests' ranges. */
const BMC_PORT_FROM = 10800;
const MAX_BMC_NODES = 200;
const STATES = ['starting', 'waiting', 'processing', 'finished', 'error'] as const;
type Counts = Record<(typeof STATES)[number], number>;

interface Options {
  nodes: number;
  ironicPower: boolean;
  port: number | null;
  exitWhenDone: boolean;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '10' },
      'ironic-power': { type: 'boolean', default: false },
      port: { type: 'string' },
      'exit-when-done': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const nodes = Number(values.nodes);
  const ironicPower = values['ironic-power'];
  // The progress line reads one page of the status list, 1000 runs at most.
  const most = ironicPower ? 1000 : MAX_BMC_NODES;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > most) {
    throw new UsageError(`--nodes must be a whole number from 1 to ${most}`);
  }
  const port = values.port === undefined ? null : Number(values.port);
  if (port !== null && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new UsageError('--port must be a port number');
  }
  return { nodes, ironicPower, port, exitWhenDone: values['exit-when-done'] };
}

class UsageError extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

/** A child process whose output goes to a log file. */
interface Child {
  name: string;
  proc: ChildProcess;
  log: string;
  exited: Promise<void>;
}

/** Everything started so far, stopped in reverse order. */
class Demo {
  readonly children: Child[] = [];
  dir = '';
  simsStarted = false;
  ironic: FakeIronic | null = null;
  #stopping: Promise<void> | null = null;

  spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
    const log = path.join(this.dir, `${name}.log`);
    const fd = openSync(log, 'a');
    // A process group of its own: Ctrl-C reaches only the demo, which then stops each in turn.
    const proc = spawn(command, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const child = { name, proc, log, exited };
    this.children.push(child);
    return child;
  }

  /** Waits for `probe` to hold; fails with the end of the child's log if it dies or never does. */
  async ready(child: Child, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const fail = (why: string) => {
      const tail = readFileSync(child.log, 'utf8').trim().split('\n').slice(-10).join('\n');
      return new Error(`${child.name} ${why}:\n${tail}`);
    };
    for (;;) {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
        throw fail('exited before it was ready');
      }
      if (await probe().catch(() => false)) return;
      if (Date.now() > deadline) throw fail(`was not ready within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }

  /** Stops everything; `keepLogs` leaves the directory (and so the logs) in place. */
  stop(keepLogs: boolean): Promise<void> {
    this.#stopping ??= (async () => {
      for (const child of [...this.children].reverse()) {
        if (child.proc.exitCode !== null || child.proc.signalCode !== null) continue;
        child.proc.kill('SIGTERM');
        const killer = setTimeout(() => child.proc.kill('SIGKILL'), 10_000);
        await child.exited;
        clearTimeout(killer);
      }
      if (this.simsStarted) await stopSims(path.join(this.dir, 'bmcs'));
      await this.ironic?.close();
      if (this.dir && !keepLogs) await rm(this.dir, { recursive: true, force: true });
    })();
    return this.#stopping;
  }

  /** A second Ctrl-C: no waiting for anyone (the BMC simulators run detached, so they are told too). */
  kill(): void {
    for (const child of this.children) child.proc.kill('SIGKILL');
    if (this.simsStarted)
      spawnSync(BMC_SIM, ['stop', '--dir', path.join(this.dir, 'bmcs'), '--now']);
  }
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

async function startRedis(demo: Demo): Promise<string> {
  if (!redisServerInstalled()) {
    throw new Error('redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)');
  }
  const port = await freePort();
  // Not lib/redis-server.ts's spawnRedisServer: this one must run detached like the API and the
  // worker, or Ctrl-C would stop Redis under them while they finish the jobs in hand.
  const redis = demo.spawn(
    'redis',
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      demo.dir,
    ],
    process.env,
  );
  await demo.ready(redis, () => portAnswers(port));
  return `redis://127.0.0.1:${port}`;
}

async function startIronic(demo: Demo, opts: Options, apiUrl: string): Promise<FakeIronic> {
  if (opts.ironicPower) {
    const ironic = await startFakeIronic({ nodes: opts.nodes });
    // A machine takes a moment to boot into the ramdisk before it posts what it found.
    ironic.onPowerOn = async (node, info) => {
      if (info.bootDevice !== 'pxe' || node.fake.index === null) return;
      await sleep(1000 + Math.random() * 2000);
      await postRamdiskData(apiUrl, buildRamdiskData(nodeSpec(node.fake.index)));
    };
    return ironic;
  }
  requireBmcSim();
  const onPowerOn =
    '[ "$BMC_BOOTDEV" = pxe ] || exit 0; ' +
    `cd ${quote(ROOT)} && exec node --import tsx test/fixtures/ramdisk-sim.ts --index "$BMC_INDEX" --bmc-address 127.0.0.1`;
  const base = await startSims(path.join(demo.dir, 'bmcs'), opts.nodes, {
    from: BMC_PORT_FROM,
    onPowerOn,
    env: { CALLBACK: apiUrl },
  });
  demo.simsStarted = true;
  const ironic = await startFakeIronic({ showPasswords: true });
  for (let i = 0; i < opts.nodes; i++) {
    ironic.addNode({
      index: i,
      spec: {
        bmcAddress: '127.0.0.1',
        ipmiPortBase: base,
        driverInfo: { ipmi_cipher_suite: 3, ipmi_password: 'password' },
      },
    });
  }
  return ironic;
}

async function apiPort(wanted: number | null): Promise<number> {
  if (wanted !== null) return wanted;
  return (await portAnswers(5050)) ? freePort() : 5050;
}

async function countStates(apiUrl: string, uuids: Set<string>): Promise<Counts> {
  const res = await fetch(`${apiUrl}/v1/introspection?limit=1000`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as { introspection?: { uuid: string; state: string }[] };
  const counts: Counts = { starting: 0, waiting: 0, processing: 0, finished: 0, error: 0 };
  for (const run of body.introspection ?? []) {
    if (uuids.has(run.uuid) && run.state in counts) counts[run.state as keyof Counts]++;
  }
  return counts;
}

/** One line, rewritten in place on a terminal; elsewhere printed whenever the counts change. */
function progressPrinter(total: number) {
  const tty = process.stdout.isTTY === true;
  let last = '';
  const started = Date.now();
  return {
    show(counts: Counts, final = false) {
      const seconds = (Date.now() - started) / 1000;
      const done = counts.finished + counts.error;
      const states = STATES.map((s) => `${s} ${counts[s]}`).join(' · ');
      const rate = seconds > 0 ? (done / seconds).toFixed(1) : '0.0';
      const line = `[${seconds.toFixed(1).padStart(5)} s] ${states} · ${done}/${total} done · ${rate} nodes/s`;
      if (tty) {
        const fitted = line.slice(0, Math.max(process.stdout.columns - 1, 20));
        process.stdout.write(`\r\x1b[2K${fitted}${final ? '\n' : ''}`);
      } else if (states !== last || final) {
        process.stdout.write(`${line}\n`);
      }
      last = states;
    },
    seconds: () => (Date.now() - started) / 1000,
  };
}

async function run(demo: Demo, opts: Options): Promise<number> {
  demo.dir = await mkdtemp(path.join(tmpdir(), 'inspector-demo-'));
  const port = await apiPort(opts.port);
  const apiUrl = `http://127.0.0.1:${port}`;
  console.log(
    `Starting Redis, the fake Ironic, ${opts.ironicPower ? 'no BMCs (power through Ironic)' : `${opts.nodes} simulated BMCs`}, the API and a worker...`,
  );
  const redisUrl = await startRedis(demo);
  const ironic = await startIronic(demo, opts, apiUrl);
  demo.ironic = ironic;

  const workerPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redisUrl,
    IRONIC_URL: ironic.url,
    // Reboots paced as in production, at a pace that keeps the demo short.
    INTROSPECTION_DELAY_S: '1',
    HOST: '127.0.0.1',
    PORT: String(port),
    POWER_MANAGEMENT: opts.ironicPower ? 'ironic' : 'ipmi',
    AUTH_STRATEGY: 'noauth',
    WORKER_HTTP_HOST: '127.0.0.1',
    WORKER_HTTP_PORT: String(workerPort),
    LOG_LEVEL: 'info',
  };
  const node = (entry: string) => ['--import', 'tsx', path.join(ROOT, entry)];
  const api = demo.spawn('api', process.execPath, node('apps/api/src/main.ts'), env);
  const worker = demo.spawn('worker', process.execPath, node('apps/worker/src/main.ts'), env);
  await Promise.all([
    demo.ready(api, () => httpOk(`${apiUrl}/readyz`)),
    demo.ready(worker, () => httpOk(`http://127.0.0.1:${workerPort}/readyz`)),
  ]);
  if (!(await httpOk(`${apiUrl}/dashboard`))) throw new Error('the dashboard does not answer');
  console.log(`Dashboard:   ${apiUrl}/dashboard`);
  console.log(`API:         ${apiUrl}   (try: curl ${apiUrl}/v1/introspection)`);
  console.log(`Fake Ironic: ${ironic.url}   Redis: ${redisUrl}`);
  console.log(`Logs:        ${demo.dir}/{api,worker,redis}.log`);

  const uuids = Array.from({ length: opts.nodes }, (_, i) => nodeSpec(i).uuid);
  for (const uuid of uuids) {
    const res = await fetch(`${apiUrl}/v1/introspection/${uuid}`, { method: 'POST' });
    if (res.status !== 202) {
      throw new Error(`POST /v1/introspection/${uuid} answered ${res.status}: ${await res.text()}`);
    }
  }
  const wanted = new Set(uuids);
  const progress = progressPrinter(opts.nodes);
  let counts: Counts;
  for (;;) {
    // A slow answer on a busy machine skips one refresh; only a dead API ends the demo.
    const polled = await countStates(apiUrl, wanted).catch((err: Error) => {
      if (api.proc.exitCode !== null || api.proc.signalCode !== null) throw err;
      return null;
    });
    if (polled) {
      counts = polled;
      if (counts.finished + counts.error === opts.nodes) break;
      progress.show(counts);
    }
    await sleep(250);
  }
  progress.show(counts, true);
  console.log(
    `All ${opts.nodes} nodes done in ${progress.seconds().toFixed(1)} s: ${counts.finished} finished, ${counts.error} in error.`,
  );
  if (counts.error) {
    for (const uuid of uuids) {
      const res = await fetch(`${apiUrl}/v1/introspection/${uuid}`);
      const status = (await res.json()) as { state: string; error: string | null };
      if (status.state === 'error') console.log(`  ${uuid}: ${status.error}`);
    }
  }
  if (opts.exitWhenDone) return counts.error ? 1 : 0;
  console.log(`Still running: the dashboard is at ${apiUrl}/dashboard. Ctrl-C stops everything.`);
  await new Promise(() => undefined);
  return 0;
}

async function main(): Promise<void> {
  let opts: Options;
  try {
    opts = readOptions();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const demo = new Demo();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) {
      demo.kill();
      process.stdout.write(`Killed; logs left in ${demo.dir}\n`);
      process.exit(130);
    }
    interrupted = true;
    process.stdout.write('\nStopping everything (Ctrl-C again to kill at once)...\n');
    void demo.stop(false).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await run(demo, opts);
    await demo.stop(code !== 0);
    if (code !== 0) console.log(`Logs kept in ${demo.dir}`);
    process.exit(code);
  } catch (err) {
    // Ctrl-C stops the API under the progress loop: its failing request is no failure of the demo.
    if (interrupted) return;
    process.stderr.write(`\ndemo failed: ${(err as Error).message}\n`);
    await demo.stop(true);
    if (demo.dir) process.stderr.write(`Logs kept in ${demo.dir}\n`);
    process.exit(1);
  }
}

void main();
