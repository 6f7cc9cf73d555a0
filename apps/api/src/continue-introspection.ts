import {
  BadRequest,
  Forbidden,
  MAX_INTERFACES,
  NotFound,
  RamdiskDataSchema,
  ServiceUnavailable,
  describeIssues,
  normalizeMac,
  normalizeRamdiskData,
  pickNode,
  preprocess,
  transitionMessage,
  type Logger,
  type LookupAttributes,
  type RamdiskData,
  type State,
} from '@inspector/shared';
import { describeJsonType } from './body.ts';
import type { ApiDeps } from './deps.ts';
import { EnrollRefused, enrollNode } from './enroll-node.ts';
import { enqueueForRun } from './enqueue-for-run.ts';

export interface ContinueReply {
  uuid: string;
  ipmi_setup_credentials?: true;
  ipmi_username?: string;
  ipmi_password?: string;
}

const FAILURES_HEADER = 'The following failures happened during running pre-processing hooks';

/** Checks a posted body against the ramdisk data schema; the 400 names the field. */
export function parseRamdiskBody(body: unknown): RamdiskData {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequest(`Invalid data: expected a JSON object, got ${describeJsonType(body)}`);
  }
  // Counted first: the schema's own limit only applies once it has checked every interface.
  const interfaces = (body as { interfaces?: unknown }).interfaces;
  if (
    interfaces &&
    typeof interfaces === 'object' &&
    Object.keys(interfaces).length > MAX_INTERFACES
  )
    throw new BadRequest(`Invalid data: interfaces: at most ${MAX_INTERFACES} interfaces`);
  const parsed = RamdiskDataSchema.safeParse(body);
  if (!parsed.success) throw new BadRequest(`Invalid data: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * The ramdisk's callback. Unauthenticated, so it trusts nothing: the body is
 * checked against the schema, and it can only move a node that is waiting
 * for data, found through the lookup index.
 */
export async function continueIntrospection(
  deps: ApiDeps,
  body: unknown,
  log: Logger,
  reqId: string,
): Promise<ContinueReply> {
  const data = parseRamdiskBody(body);
  const { logs, ...rest } = data;
  const normalized = normalizeRamdiskData(data);
  const { failures } = preprocess(normalized, {
    config: deps.config,
    warn: (message) => log.debug(message),
  });
  const attrs: LookupAttributes = {
    bmc_address: [normalized.ipmi_address, normalized.ipmi_v6address].filter(
      (a): a is string => !!a,
    ),
    mac: [
      ...new Set(
        Object.values(normalized.interfaces)
          .map((i) => normalizeMac(i.mac))
          .filter((m): m is string => !!m),
      ),
    ],
  };
  const found = pickNode(attrs, await deps.store.candidates(attrs));
  let uuid: string;
  if (found.kind === 'found') {
    uuid = found.uuid;
  } else if (
    found.kind === 'not_found' &&
    deps.config.NODE_NOT_FOUND_HOOK === 'enroll' &&
    // Data the hooks refused would only enrol a node to fail its run at once.
    !failures.length
  ) {
    const leave = deps.discoveries.tryEnter();
    if (!leave) {
      throw new ServiceUnavailable(
        `Too many discoveries in progress (DISCOVERY_CONCURRENCY=${deps.discoveries.limit}), retry later`,
      );
    }
    try {
      uuid = await enrollNode(deps, normalized, attrs, reqId, log);
    } catch (err) {
      if (!(err instanceof EnrollRefused)) throw err;
      throw new BadRequest(`${FAILURES_HEADER}:\nNode not found hook failed: ${err.message}`);
    } finally {
      leave();
    }
  } else {
    if (failures.length) {
      throw new BadRequest(
        `${FAILURES_HEADER}:\n${[...failures, `Look up error: ${found.message}`].join('\n')}`,
      );
    }
    throw new NotFound(found.message);
  }

  const record = await deps.store.get(uuid);
  if (!record)
    throw new NotFound(
      `Could not find node ${uuid} in cache, probably it's not on introspection now`,
    );
  const notWaiting = (state: string) =>
    new Forbidden(
      `Node ${uuid} is not waiting for ramdisk data: ${transitionMessage(state as State, 'process')}`,
    );
  // A discovered node's run waits in `enrolling` for its data, which any callback of the machine
  // may bring: the one that enrolled it may have failed after starting the run.
  const enrolling = record.state === 'enrolling';
  if (record.state !== 'waiting' && !enrolling) throw notWaiting(record.state);

  const job = { node: uuid, gen: record.gen, reqId: record.req_id };
  const raw = JSON.stringify(rest);
  // Logs wait in Redis only for a worker to write them out: without a directory, nothing would.
  const kept = deps.config.RAMDISK_LOGS_DIR ? (logs ?? undefined) : undefined;
  if (failures.length) {
    const error = failures.join('\n');
    // Only from where a callback may move the run: a good callback or an abort that got there
    // first since the read owns the run, which `error` alone would let this one end.
    const moved = await deps.store.transition(uuid, record.gen, 'error', {
      error,
      raw,
      logs: kept,
      record,
      onlyFrom: ['waiting', 'enrolling'],
    });
    if (!moved.ok) throw notWaiting(moved.state);
    log.warn({ node: uuid, failures }, 'ramdisk data refused');
    await deps.queues.cancelTimeout(job);
    if (kept) {
      // The run has ended either way: a failure here costs the logs, not the ramdisk's answer.
      await deps.queues
        .add('ramdisk-logs', job)
        .catch((err: Error) =>
          log.warn({ node: uuid, err: err.message }, 'could not queue the ramdisk logs'),
        );
    }
    throw new BadRequest(`${FAILURES_HEADER} for node ${uuid}:\n${error}`);
  }

  const moved = await deps.store.transition(uuid, record.gen, 'process', {
    raw,
    logs: kept,
    record,
  });
  if (!moved.ok) throw notWaiting(moved.state);
  await enqueueForRun(deps, job, 'processing', async () => {
    // A discovered node's run starts here: nothing scheduled its timeout before.
    if (enrolling) await deps.queues.scheduleTimeout(job);
    await deps.queues.add('process', job);
  });
  // Fields, not a child logger: a child per callback cost the API some 18 µs of a burst's 600.
  log.info({ node: uuid, gen: record.gen }, 'ramdisk data accepted');

  if (!record.new_ipmi_username) return { uuid };
  const password = await deps.store.getSecret(uuid, record.gen);
  if (!password) return { uuid };
  return {
    uuid,
    ipmi_setup_credentials: true,
    ipmi_username: record.new_ipmi_username,
    ipmi_password: password,
  };
}
