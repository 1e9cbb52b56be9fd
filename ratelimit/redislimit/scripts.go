package redislimit

import "github.com/redis/go-redis/v9"

// Every script reads the time with Redis TIME, so the replicas' clocks do not
// matter, and formats large numbers with %.0f: Lua's default number to string
// conversion keeps 14 digits, too few for microsecond timestamps.
// replicate_commands is needed before writes after TIME on Redis < 5 and is a
// no-op later.

// acquireScript decides one call for a tenant and, when it may go ahead,
// records it.
//
// KEYS: 1 minute window (zset), 2 day window (zset), 3 concurrency slots
// (zset scored by expiry), 4 tenant pause (string with PX).
// ARGV: 1 per minute, 2 minute window µs as counted (Window plus Margin), 3 per day, 4 day window µs, 5 concurrent,
// 6 slot TTL µs, 7 call id, 8 app-wide pause left in µs (0 when none).
//
// Returns {0} when granted, {1, wait µs, kind, pause value} when refused for
// a time, with kind one of pause, app, day, minute, and {2} when all
// concurrency slots are taken.
var acquireScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function s(n) return string.format('%.0f', n) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local perMinute, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local perDay, dayWindow = tonumber(ARGV[3]), tonumber(ARGV[4])
local concurrent, slotTTL = tonumber(ARGV[5]), tonumber(ARGV[6])
local id, appWait = ARGV[7], tonumber(ARGV[8])

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', s(now - window))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', s(now - dayWindow))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', s(now))

-- Of several time-based reasons report the longest, so the wait is honest.
-- A pause's PTTL is in whole milliseconds, so a window's wait less than a
-- millisecond longer ends with it: the pause is reported, with Xero's counts.
local worst, kind, slack = 0, '', 0
local pttl = redis.call('PTTL', KEYS[4])
if pttl > 0 then worst, kind, slack = pttl * 1000, 'pause', 1000 end
if appWait > worst then worst, kind, slack = appWait, 'app', 0 end
if redis.call('ZCARD', KEYS[2]) >= perDay then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local d = tonumber(oldest[2]) + dayWindow - now
  if d > worst + slack then worst, kind, slack = d, 'day', 0 end
end
if redis.call('ZCARD', KEYS[1]) >= perMinute then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local d = tonumber(oldest[2]) + window - now
  if d > worst + slack then worst, kind = d, 'minute' end
end
if worst > 0 then
  local info = ''
  if kind == 'pause' then info = redis.call('GET', KEYS[4]) or '' end
  return {1, s(worst), kind, info}
end
if redis.call('ZCARD', KEYS[3]) >= concurrent then
  return {2}
end

redis.call('ZADD', KEYS[1], s(now), id)
redis.call('ZADD', KEYS[2], s(now), id)
redis.call('ZADD', KEYS[3], s(now + slotTTL), id)
-- Each key lives as long as its newest entry matters, so an idle tenant
-- leaves nothing behind.
redis.call('PEXPIRE', KEYS[1], s(math.ceil(window / 1000) + 1))
redis.call('PEXPIRE', KEYS[2], s(math.ceil(dayWindow / 1000) + 1))
redis.call('PEXPIRE', KEYS[3], s(math.ceil(slotTTL / 1000) + 1))
return {0}
`)

// pauseScript pauses a tenant, or the whole app, keeping whichever pause
// ends later.
//
// KEYS: 1 pause key, 2 the tenant's minute window (only when ARGV[3] > 0).
// ARGV: 1 pause ms, 2 value to store, 3 minute window µs as counted: when above zero the pause
// lasts until the oldest call in the minute window leaves it, or ARGV[1]
// when the window is empty.
//
// Returns 1 when the pause was set or lengthened, else 0.
var pauseScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function s(n) return string.format('%.0f', n) end
local ms, window = tonumber(ARGV[1]), tonumber(ARGV[3])
if window > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', s(now - window))
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if oldest[2] then ms = math.ceil((tonumber(oldest[2]) + window - now) / 1000) end
end
if ms <= 0 then return 0 end
if redis.call('PTTL', KEYS[1]) >= ms then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', s(ms))
return 1
`)

// appPauseScript reads the app-wide pause: {ms left, value}, or {0, ""} when none.
// It is a separate round trip from acquireScript because the app key lives
// in another Redis Cluster slot than the tenant's keys.
//
// KEYS: 1 app pause key.
var appPauseScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return {0, ''} end
return {ttl, redis.call('GET', KEYS[1]) or ''}
`)

// alignScript raises a tenant's minute and day counts to what Xero reported
// when Xero counts more (xerolimit.Raise): the calls added to the minute
// window are scored now, so they stay a whole window as counted; those added
// to the day window leave it after ARGV[7].
//
// KEYS: 1 minute window (zset), 2 day window (zset).
// ARGV: 1 per minute, 2 minute window µs as counted, 3 minute calls Xero
// says are left (-1: not reported), 4 per day, 5 day window µs, 6 day calls
// left (-1: not reported), 7 how long raised day calls stay µs, 8 a prefix
// for the added members.
//
// Returns {minute calls added, day calls added}.
var alignScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function s(n) return string.format('%.0f', n) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function raise(key, limit, window, left, at, tag)
  if left < 0 then return 0 end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', s(now - window))
  local k = limit - left - redis.call('ZCARD', key)
  if k <= 0 then return 0 end
  for i = 1, k, 100 do
    local args = {}
    for j = i, math.min(i + 99, k) do
      args[#args + 1] = s(at)
      args[#args + 1] = ARGV[8] .. tag .. j
    end
    redis.call('ZADD', key, unpack(args))
  end
  -- The key outlives its newest entry; a longer expiry is kept.
  local want = math.ceil((at + window - now) / 1000) + 1
  if redis.call('PTTL', key) < want then redis.call('PEXPIRE', key, s(want)) end
  return k
end
local dayWindow = tonumber(ARGV[5])
local m = raise(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), now, ':m')
local d = raise(KEYS[2], tonumber(ARGV[4]), dayWindow, tonumber(ARGV[6]), now - dayWindow + tonumber(ARGV[7]), ':d')
return {m, d}
`)
