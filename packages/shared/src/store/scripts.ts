/**
 * Lua scripts that make every state change of a node one atomic step.
 * Keys are always passed in KEYS (never built inside Lua) and all share the
 * prefix's hash tag, so the scripts also run on Redis Cluster.
 */

const ALLOWED = `
local function allowed(csv, state)
  for s in string.gmatch(csv, '[^,]+') do
    if s == state then return true end
  end
  return false
end
`;

/**
 * KEYS: node, index, gen counter, raw, processed, logs, secret, active runs, runs version,
 *       old lookup keys..., new lookup keys...
 * ARGV: expected gen ('' for none), uuid, now, #old, #new, allowed-from csv, fields (JSON list k,v,...),
 *       secret ('' for none), secret ttl ms, first state (starting, or enrolling for a discovered node)
 */
export const START = `${ALLOWED}
local cur = redis.call('HGET', KEYS[1], 'gen')
if (cur or '') ~= ARGV[1] then return {'retry', cur or ''} end
local state = redis.call('HGET', KEYS[1], 'state')
if state and not allowed(ARGV[6], state) then return {'conflict', state} end
local nOld, nNew = tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 10, 9 + nOld do redis.call('SREM', KEYS[i], ARGV[2]) end
for i = 10 + nOld, 9 + nOld + nNew do redis.call('SADD', KEYS[i], ARGV[2]) end
local gen = redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
redis.call('HSET', KEYS[1], 'gen', gen, 'state', ARGV[10], unpack(cjson.decode(ARGV[7])))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[8], ARGV[3], ARGV[2])
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[7], 'gen', gen, 'password', ARGV[8])
  redis.call('PEXPIRE', KEYS[7], ARGV[9])
end
redis.call('INCR', KEYS[9])
return {'ok', tostring(gen)}
`;

/**
 * KEYS: node, secret, raw, processed, logs, active runs, runs version, lookup keys...
 * ARGV: gen, allowed-from csv, new state, terminal ('1'|'0'), now, error, keep ms, uuid,
 *       fields to set (JSON list k,v,...), raw data ('' keeps), logs ('' keeps), logs ttl ms,
 *       op (an id of this change alone)
 * The record keeps the last change's op and the state it left, as 'op' = '<from> <op>': the same
 * change sent again (its reply lost with the connection) finds them and answers ok again.
 */
export const TRANSITION = `${ALLOWED}
local gen = redis.call('HGET', KEYS[1], 'gen')
local state = redis.call('HGET', KEYS[1], 'state')
if gen ~= ARGV[1] then return {'stale', state or ''} end
if not allowed(ARGV[2], state) then
  local last = redis.call('HGET', KEYS[1], 'op')
  if state == ARGV[3] and last then
    local from, op = string.match(last, '^(%S+) (.*)$')
    if op == ARGV[13] then return {'ok', from} end
  end
  return {'conflict', state}
end
local fields = cjson.decode(ARGV[9])
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
redis.call('HSET', KEYS[1], 'op', state .. ' ' .. ARGV[13])
redis.call('HSET', KEYS[1], 'state', ARGV[3])
if ARGV[10] ~= '' then redis.call('SET', KEYS[3], ARGV[10]) end
if ARGV[11] ~= '' then redis.call('SET', KEYS[5], ARGV[11], 'PX', ARGV[12]) end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'finished_at', ARGV[5], 'error', ARGV[6])
  for i = 8, #KEYS do redis.call('SREM', KEYS[i], ARGV[8]) end
  redis.call('ZREM', KEYS[6], ARGV[8])
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ARGV[7])
  redis.call('PEXPIRE', KEYS[4], ARGV[7])
  redis.call('INCR', KEYS[7])
else
  redis.call('HSET', KEYS[1], 'finished_at', '', 'error', '')
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[3])
  redis.call('PERSIST', KEYS[4])
  if redis.call('ZSCORE', KEYS[6], ARGV[8]) == false then
    redis.call('ZADD', KEYS[6], ARGV[5], ARGV[8])
  end
end
return {'ok', state}
`;

/**
 * KEYS: node, target. ARGV: gen, value. Writes target only for the current run; a run that ended
 * meanwhile (a timeout during processing) gives target its status's remaining lifetime, as its
 * other data has, instead of leaving it to outlive the status.
 */
export const SET_IF_GEN = `
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`;

/**
 * KEYS: node, index, active runs, raw, processed, logs, secret, lookup keys...
 * ARGV: gen, uuid. Drops a run and everything kept for it, unless the node was
 * started again since its caller read it.
 */
export const FORGET = `
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
for i = 8, #KEYS do redis.call('SREM', KEYS[i], ARGV[2]) end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
return 1
`;

/**
 * KEYS: the line of runs waiting to reboot (sorted set, by arrival), when the next reboot may
 * happen (ms), this run's mark that it has had its turn, the arrival counter (a run's place: a
 * time would tie for runs joining in the same millisecond, and ties sort by name, not arrival).
 * ARGV: this run's member ('uuid@gen'),
 * gap between reboots (ms), how long the mark stays (ms).
 * Returns {ms still to wait, the member at the head}: 0 means reboot now, and the run leaves the
 * line. A run keeps its place across its waits; one that has had its turn (a retried boot job)
 * goes at once. Times are Redis's, the one clock every worker shares.
 */
export const RESERVE_REBOOT = `
if redis.call('EXISTS', KEYS[3]) == 1 then return {0, ARGV[1]} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[4]), ARGV[1])
end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
local gap = tonumber(ARGV[2])
local wait = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') - now, 0) + rank * gap
if wait > 0 then return {wait, head} end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], now + gap, 'PX', gap)
redis.call('SET', KEYS[3], now, 'PX', ARGV[3])
return {0, head}
`;

/**
 * All or none: claims every key for ARGV[2] ms under the token ARGV[1]; 0 when any is held.
 * KEYS: claims.
 */
export const CLAIM = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2]) end
return 1
`;

/** Extends every claim to ARGV[2] ms if all are still held under the token ARGV[1]; else 0. */
export const RENEW = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[1] then return 0 end
end
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1
`;

/** Drops the claims still held under the token ARGV[1]. KEYS: claims. */
export const RELEASE = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 1
`;
