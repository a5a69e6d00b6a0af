package sinks

import "github.com/redis/go-redis/v9"

// The Lua scripts of RedisDLQ. Each touches only the keys of one sink, which
// share a Redis Cluster slot (see redis_keys.go), and runs atomically.

// luaIDLess compares two canonical stream IDs without going through Lua's
// floating-point numbers, which are exact only up to 2^53.
const luaIDLess = `
local function idless(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return false end
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end
`

// updateScript stores a new version of an entry's item, if the entry
// exists. Now and then it forgets the updates of entries that MAXLEN
// trimmed away: when the hash has grown to twice its size after the last
// clean-up (amortised O(1) per update).
//
// KEYS[1] stream, KEYS[2] updates hash, KEYS[3] counters hash.
// ARGV[1] stream id, ARGV[2] item JSON.
// Returns 1, or 0 when the entry does not exist.
var updateScript = redis.NewScript(luaIDLess + `
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local n = redis.call('HLEN', KEYS[2])
local at = tonumber(redis.call('HGET', KEYS[3], 'prune_at') or '64')
if n >= at then
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1]
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    if idless(f, first) then redis.call('HDEL', KEYS[2], f) end
  end
  n = redis.call('HLEN', KEYS[2])
  redis.call('HSET', KEYS[3], 'prune_at', math.max(64, 2 * n))
end
return 1
`)

// luaLeaseOf tells whether a lease value ("<token> <holder>") belongs to
// token.
const luaLeaseOf = `
local function leaseof(v, token)
  return string.sub(v, 1, #token + 1) == token .. ' '
end
`

// discardScript deletes an entry and its update, counting the deletion so
// that Stats can tell discards from MAXLEN trimming, unless another holder
// has leased the entry.
//
// KEYS[1] stream, KEYS[2] updates hash, KEYS[3] counters hash, KEYS[4]
// the entry's lease. ARGV[1] stream id, ARGV[2] the caller's lease token
// ("" when it has none).
// Returns the number of entries deleted (0 or 1), or {lease value, PTTL}
// when another holder has the lease.
var discardScript = redis.NewScript(luaLeaseOf + `
local lease = redis.call('GET', KEYS[4])
if lease and not leaseof(lease, ARGV[2]) then
  return {lease, redis.call('PTTL', KEYS[4])}
end
local n = redis.call('XDEL', KEYS[1], ARGV[1])
if n > 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[3], 'discarded', n)
end
return n
`)

// leaseScript takes a lease (SET NX PX) unless its holder or another has it.
//
// KEYS[1] the lease. ARGV[1] token, ARGV[2] "<token> <holder>", ARGV[3]
// TTL in milliseconds.
// Returns {1} when taken, {2} when the token's holder has it already, or
// {0, lease value, PTTL} when another holder has it.
var leaseScript = redis.NewScript(luaLeaseOf + `
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then return {1} end
local v = redis.call('GET', KEYS[1])
if leaseof(v, ARGV[1]) then return {2} end
return {0, v, redis.call('PTTL', KEYS[1])}
`)

// renewLeaseScript extends a lease that the token's holder still has.
//
// KEYS[1] the lease. ARGV[1] token, ARGV[2] TTL in milliseconds.
// Returns 1, or 0 when the holder no longer has it.
var renewLeaseScript = redis.NewScript(luaLeaseOf + `
local v = redis.call('GET', KEYS[1])
if v and leaseof(v, ARGV[1]) then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// releaseLeaseScript deletes a lease if the token's holder has it (compare
// and delete: a lease that expired and went to another holder stays).
//
// KEYS[1] the lease. ARGV[1] token. Returns the number of keys deleted.
var releaseLeaseScript = redis.NewScript(luaLeaseOf + `
local v = redis.call('GET', KEYS[1])
if v and leaseof(v, ARGV[1]) then return redis.call('DEL', KEYS[1]) end
return 0
`)

// statsScript reports one sink's stream.
//
// KEYS[1] stream, KEYS[2] counters hash.
// Returns {length, entries added (-1 when the server does not say, before
// Redis 7), discarded, bytes (-1 when unknown)}.
var statsScript = redis.NewScript(`
local discarded = tonumber(redis.call('HGET', KEYS[2], 'discarded') or '0')
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, discarded, 0} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added = -1
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then added = info[i + 1] end
end
local bytes = redis.pcall('MEMORY', 'USAGE', KEYS[1])
if type(bytes) ~= 'number' then bytes = -1 end
return {redis.call('XLEN', KEYS[1]), added, discarded, bytes}
`)

// luaXAdd appends an item to a stream with an ID the server picks, as a
// plain XADD does, capped by MAXLEN ~ when maxlen > 0.
const luaXAdd = `
local function xadd(stream, maxlen, data)
  if tonumber(maxlen) > 0 then
    return redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'item', data)
  end
  return redis.call('XADD', stream, '*', 'item', data)
end
`

// addScript appends items to one stream (see luaXAdd), in order: a batch
// in one step, where a pipeline would cost the client a command per item.
//
// KEYS[1] stream. ARGV[1] MAXLEN (<= 0: none), ARGV[2...] the items' JSON.
// Returns their stream ids.
var addScript = redis.NewScript(luaXAdd + `
local ids = {}
for i = 2, #ARGV do
  ids[#ids + 1] = xadd(KEYS[1], ARGV[1], ARGV[i])
end
return ids
`)

// addOnceScript adds an item unless the once key says it was added already;
// either way it returns the item's stream id. The check, the XADD (see
// luaXAdd) and the record of the key are one atomic step, which is what
// makes a repeated AddOnce add nothing.
//
// KEYS[1] stream, KEYS[2] once key.
// ARGV[1] item JSON, ARGV[2] MAXLEN (<= 0: none), ARGV[3] once key TTL in
// seconds.
var addOnceScript = redis.NewScript(luaXAdd + `
local prev = redis.call('GET', KEYS[2])
if prev then return prev end
local id = xadd(KEYS[1], ARGV[2], ARGV[1])
redis.call('SET', KEYS[2], id, 'EX', ARGV[3])
return id
`)
