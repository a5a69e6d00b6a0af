package sinks

import "github.com/redis/go-redis/v9"

// The Lua scripts of RedisQueue. Each touches the keys of one sink only,
// which share a Redis Cluster slot (see RedisQueue.keys), and runs
// atomically. Due times are the server's clock (TIME), in milliseconds, so
// that processes whose clocks disagree still agree on when a retry is due.

// luaNowMs is the server's time in milliseconds.
const luaNowMs = `
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

// luaOwns tells whether an entry is pending for a consumer.
const luaOwns = `
local function owns(stream, group, consumer, id)
  return #redis.call('XPENDING', stream, group, id, id, 1, consumer) == 1
end
`

// queueDoneScript forgets an entry whose delivery ended: it leaves the
// group's pending list and the stream.
//
// KEYS[1] stream. ARGV[1] group, ARGV[2] entry id.
var queueDoneScript = redis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
`)

// queueRetryScript replaces an entry by the task as the handler changed
// it, due wait_ms from now: at once back in the stream when the wait is
// not positive, else in the schedule (a sorted set scored by due time, the
// body in a hash under the old entry's id, which no later entry reuses).
// It does nothing when the entry is no longer pending for the consumer
// (another consumer claimed it after the lease ran out, and its outcome
// decides).
//
// KEYS[1] stream, KEYS[2] schedule, KEYS[3] bodies.
// ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] task JSON,
// ARGV[5] wait_ms. Returns 1, or 0 when the entry was not the consumer's.
var queueRetryScript = redis.NewScript(luaNowMs + luaOwns + `
if not owns(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
local wait = tonumber(ARGV[5])
if wait <= 0 then
  redis.call('XADD', KEYS[1], '*', 'task', ARGV[4])
  return 1
end
redis.call('ZADD', KEYS[2], nowms() + wait, ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
return 1
`)

// queueMoveScript moves the schedule's due tasks, earliest first, to the
// end of the stream.
//
// KEYS[1] stream, KEYS[2] schedule, KEYS[3] bodies. ARGV[1] most to move.
// Returns the number moved.
var queueMoveScript = redis.NewScript(luaNowMs + `
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', nowms(), 'LIMIT', 0, tonumber(ARGV[1]))
for _, m in ipairs(due) do
  local body = redis.call('HGET', KEYS[3], m)
  if body then redis.call('XADD', KEYS[1], '*', 'task', body) end
  redis.call('ZREM', KEYS[2], m)
  redis.call('HDEL', KEYS[3], m)
end
return #due
`)

// queueTouchScript sets the idle time of entries that are still pending
// for the consumer: 0 renews their lease (a handler still at work), the
// lease itself hands them to the next XAUTOCLAIM of any consumer (a task
// kept for later). Entries another consumer claimed are left alone.
//
// KEYS[1] stream. ARGV[1] group, ARGV[2] consumer, ARGV[3] idle in ms,
// ARGV[4...] entry ids. Returns the number of entries touched.
var queueTouchScript = redis.NewScript(luaOwns + `
local n = 0
for i = 4, #ARGV do
  if owns(KEYS[1], ARGV[1], ARGV[2], ARGV[i]) then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
    n = n + 1
  end
end
return n
`)

// queuePendingScript counts a sink's tasks in one step: the stream's
// entries (not yet handed out, or handed out and not finished) and the
// scheduled retries.
//
// KEYS[1] stream, KEYS[2] schedule. Returns the sum.
var queuePendingScript = redis.NewScript(`
return redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2])
`)

// queueRateScript is a shared rate limiter: the generic cell rate
// algorithm (GCRA), which keeps one number per sink, the theoretical
// arrival time (TAT) of the next send, on the server's clock. A send is
// due when now >= TAT - (burst-1)*interval; each reservation moves TAT on
// by one interval, so sends start at most burst at once and then one per
// interval. The key expires once TAT has passed, when it would say nothing.
//
// KEYS[1] the sink's rate key. ARGV[1] interval in microseconds, ARGV[2]
// burst. Returns how long the reserved send must wait, in microseconds.
var queueRateScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
local nxt = tat + interval
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1000)
return wait
`)

// queueReapScript forgets the consumers of a group that hold no pending
// entry and have not read for idle_ms (processes that exited), so that
// restarts do not pile names up. The check and the deletion are one step:
// a consumer that reads meanwhile cannot lose an entry by it (and a
// consumer deleted while alive is made again by its next read).
//
// KEYS[1] stream. ARGV[1] group, ARGV[2] idle_ms, ARGV[3] the caller's own
// name (kept). Returns the number of consumers deleted.
var queueReapScript = redis.NewScript(`
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['name'] ~= ARGV[3] and tonumber(f['pending']) == 0 and tonumber(f['idle']) >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    n = n + 1
  end
end
return n
`)
