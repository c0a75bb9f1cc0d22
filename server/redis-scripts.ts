/**
 * The Lua scripts that change shared room state in Redis. Each runs atomically (Redis runs
 * one script at a time), so two joins racing from two processes cannot both take the last
 * place of a room, and each change is published, in the same step, to every process
 * that has a member in the room: every process sees one order of events per room.
 *
 * Keys (P is the prefix, `p2p-chat:` by default):
 * - `P r:<room>`  hash: member id → entry `node\nconn\n<summary JSON>`
 * - `P s:<room>`  the room's event counter (every join and leave adds one)
 * - `P p:<id>`    where a peer id lives: `node\nconn\nroom` (resume and stolen tokens)
 * - `P n:<node>`  set: the ids a process holds (what to clean up when it dies)
 * - `P a:<node>`  a process's liveness key, with a short expiry
 * - `P nodes`     set: the processes of the service
 * - channel `P c:<node>`: what a process is told (events, frames for its clients)
 *
 * Events are JSON: join `{t:'j', q, r, i, c, n, e, m?}` (m: every member, only to the
 * joiner's own process), leave `{t:'l', q, r, i, c, n, a, l, x}` (a: announce it,
 * l: already announced by its process, x: the connection was replaced from elsewhere,
 * b: it may be back in a moment, a reload),
 * a rename `{t:'n', q, r, i, c, n, e}`, and a room's whole membership `{t:'s', r, m}` that a process asks for after Redis was
 * away. q counts a room's changes (for logs: the order is the channel's own).
 * Keys built inside the scripts are fine on a single Redis (not Redis Cluster).
 */

const HELPERS = `
local P = ARGV[1]
local function split(v)
  return string.match(v, '^([^\\n]*)\\n([^\\n]*)\\n(.*)$')
end
local function nodesOf(hash, extra)
  local seen, list = {}, {}
  if extra then seen[extra] = true; list[1] = extra end
  for _, v in ipairs(redis.call('HVALS', hash)) do
    local n = string.match(v, '^[^\\n]*')
    if not seen[n] then seen[n] = true; list[#list + 1] = n end
  end
  return list
end
local function publish(nodes, event)
  local text = cjson.encode(event)
  for _, n in ipairs(nodes) do redis.call('PUBLISH', P .. 'c:' .. n, text) end
end
-- Takes a member out of its room and tells the room's processes.
local function remove(id, node, conn, room, announce, announced, replaced, back)
  local hash, seq = P .. 'r:' .. room, P .. 's:' .. room
  local targets = nodesOf(hash, node)
  redis.call('HDEL', hash, id)
  local q = redis.call('INCR', seq)
  if redis.call('HLEN', hash) == 0 then redis.call('DEL', hash, seq) end
  redis.call('SREM', P .. 'n:' .. node, id)
  publish(targets, { t = 'l', q = q, r = room, i = id, c = conn, n = node, a = announce, l = announced, x = replaced, b = back or 0 })
end
`;

/**
 * Join (or, with force, put back after Redis lost its data): ARGV prefix, id, node, conn,
 * entry, room, maxRoomSize, force. Returns 'ok', 'full', or 'moved' (force only: the
 * peer has since joined through another connection).
 */
export const JOIN_SCRIPT = `${HELPERS}
local id, node, conn, entry, room, max, force = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8] == '1'
local where = P .. 'p:' .. id
local hash, seq = P .. 'r:' .. room, P .. 's:' .. room
local prev = redis.call('GET', where)
local pnode, pconn, proom
if prev then pnode, pconn, proom = split(prev) end
if force and prev and pconn ~= conn then return 'moved' end
local sameRoom = prev ~= false and proom == room
local size = redis.call('HLEN', hash)
if sameRoom and redis.call('HEXISTS', hash, id) == 1 then size = size - 1 end
if not force and size >= max then return 'full' end
if prev and not sameRoom then remove(id, pnode, pconn, proom, 1, 0, 1) end
if prev and sameRoom and pnode ~= node then redis.call('SREM', P .. 'n:' .. pnode, id) end
local targets = nodesOf(hash, node)
redis.call('HSET', hash, id, entry)
local q = redis.call('INCR', seq)
redis.call('SET', where, node .. '\\n' .. conn .. '\\n' .. room)
redis.call('SADD', P .. 'n:' .. node, id)
local event = { t = 'j', q = q, r = room, i = id, c = conn, n = node, e = entry }
local others = {}
for _, n in ipairs(targets) do if n ~= node then others[#others + 1] = n end end
publish(others, event)
event.m = redis.call('HGETALL', hash)
publish({ node }, event)
return 'ok'
`;

/** Leave: ARGV prefix, id, conn, returning ('1': it may be back in a moment). Only the connection that holds the id can take it out. */
export const LEAVE_SCRIPT = `${HELPERS}
local id, conn, back = ARGV[2], ARGV[3], tonumber(ARGV[4]) or 0
local prev = redis.call('GET', P .. 'p:' .. id)
if not prev then return 0 end
local pnode, pconn, proom = split(prev)
if pconn ~= conn then return 0 end
redis.call('DEL', P .. 'p:' .. id)
remove(id, pnode, pconn, proom, 1, 1, 0, back)
return 1
`;

/** Rename: ARGV prefix, id, node, conn, entry. Only the connection that holds the id can change its entry. */
export const RENAME_SCRIPT = `${HELPERS}
local id, node, conn, entry = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local prev = redis.call('GET', P .. 'p:' .. id)
if not prev then return 0 end
local pnode, pconn, proom = split(prev)
if pnode ~= node or pconn ~= conn then return 0 end
local hash, seq = P .. 'r:' .. proom, P .. 's:' .. proom
if redis.call('HEXISTS', hash, id) == 0 then return 0 end
redis.call('HSET', hash, id, entry)
local q = redis.call('INCR', seq)
publish(nodesOf(hash, node), { t = 'n', q = q, r = proom, i = id, c = conn, n = node, e = entry })
return 1
`;

/**
 * Reap a process whose liveness key is gone: ARGV prefix, node. Its peers that have not
 * joined again elsewhere leave (announced); returns how many, or -1 if it is alive after all.
 */
export const REAP_SCRIPT = `${HELPERS}
local dead = ARGV[2]
if redis.call('EXISTS', P .. 'a:' .. dead) == 1 then return -1 end
local count = 0
for _, id in ipairs(redis.call('SMEMBERS', P .. 'n:' .. dead)) do
  local prev = redis.call('GET', P .. 'p:' .. id)
  if prev then
    local pnode, pconn, proom = split(prev)
    if pnode == dead then
      redis.call('DEL', P .. 'p:' .. id)
      remove(id, pnode, pconn, proom, 1, 0, 0)
      count = count + 1
    end
  end
end
redis.call('DEL', P .. 'n:' .. dead)
redis.call('SREM', P .. 'nodes', dead)
return count
`;

/** The processes of the service whose liveness key has expired: ARGV prefix. */
export const DEAD_NODES_SCRIPT = `
local P = ARGV[1]
local dead = {}
for _, n in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if redis.call('EXISTS', P .. 'a:' .. n) == 0 then dead[#dead + 1] = n end
end
return dead
`;

/** A room's members, published to the asking process's own channel (in order with its events): ARGV prefix, room, node. */
export const SYNC_SCRIPT = `
local P, room, node = ARGV[1], ARGV[2], ARGV[3]
local members = redis.call('HGETALL', P .. 'r:' .. room)
redis.call('PUBLISH', P .. 'c:' .. node, cjson.encode({ t = 's', r = room, m = members }))
return #members / 2
`;
