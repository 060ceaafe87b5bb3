-- ferrokv's script environment, run once per interpreter (see engine.rs). Receives the Rust
-- halves of the API; returns the scripts' environment table. Error reports skip this chunk.
local api = ...
local G = _G
local error, type, select, unpack, tostring = error, type, select, unpack, tostring
local raw_pcall, raw_xpcall, raw_rawset, raw_setmetatable = pcall, xpcall, rawset, setmetatable
local raw_getfenv, raw_setfenv, raw_loadstring, raw_load = getfenv, setfenv, loadstring, load
local error_table = api.error_table

local function pack(...) return {n = select('#', ...), ...} end

-- The redis API.
local redis = {}
redis.call = api.call
redis.pcall = api.pcall
redis.log = api.log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = api.version, api.version_num
redis.setresp = api.setresp
redis.sha1hex = api.sha1hex
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return error_table('wrong number or type of arguments')
  end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return error_table(e)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return error_table('wrong number or type of arguments')
  end
  return {ok = s}
end
redis.set_repl = api.set_repl
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.acl_check_cmd = api.acl_check_cmd
redis.breakpoint = function() return false end
redis.debug = function() end
redis.replicate_commands = function() return true end
G.redis = redis

-- Redis 7's pcall: an error table raised by redis.call comes back as its message.
G.pcall = function(...)
  local r = pack(raw_pcall(...))
  if not r[1] and type(r[2]) == 'table' and type(r[2].err) == 'string' then
    r[2] = r[2].err
  end
  return unpack(r, 1, r.n)
end

-- math.random / math.randomseed on Redis's lrand48 (C functions, see engine.rs).
G.math.random = api.random
G.math.randomseed = api.randomseed

-- The sandbox.
G.dofile, G.loadfile, G.print = nil, nil, nil

local readonly = raw_setmetatable({}, {__mode = 'k'})
local function refuse() error("Attempt to modify a readonly table", 2) end
-- A read-only view of `real`; its metatable, as getmetatable shows it, is read-only too.
local function protect(real)
  local proxy = {}
  readonly[proxy] = true
  local meta = {__index = real, __newindex = refuse}
  local shown = {}
  readonly[shown] = true
  raw_setmetatable(shown, {__index = meta, __newindex = refuse, __metatable = false})
  meta.__metatable = shown
  raw_setmetatable(proxy, meta)
  return proxy
end

for _, name in ipairs({'string', 'math', 'table', 'coroutine', 'redis', 'cjson', 'bit', 'struct', 'cmsgpack'}) do
  local lib = rawget(G, name)
  if lib ~= nil then G[name] = protect(lib) end
end
local string_meta = getmetatable('')
string_meta.__index = G.string
string_meta.__metatable = false

local env = protect(G)

G.rawset = function(t, k, v)
  if readonly[t] then error("Attempt to modify a readonly table", 2) end
  return raw_rawset(t, k, v)
end
G.setmetatable = function(t, m)
  if readonly[t] then error("Attempt to modify a readonly table", 2) end
  return raw_setmetatable(t, m)
end
G.getfenv = function(f)
  if f == nil then f = 1 end
  if type(f) == 'number' and f > 0 then f = f + 1 end
  local e = raw_getfenv(f)
  if e == G then return env end
  return e
end
G.setfenv = function(f, t)
  if type(f) == 'number' then
    if f <= 0 then error("Attempt to modify a readonly table", 2) end
    f = f + 1
  end
  if raw_getfenv(f) ~= env then error("Attempt to modify a readonly table", 2) end
  return raw_setfenv(f, t)
end
local function sandboxed(f, err)
  if f then raw_setfenv(f, env) end
  return f, err
end
G.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then return nil, 'binary chunks are not allowed' end
  return sandboxed(raw_loadstring(s, name))
end
G.load = function(f, name)
  local first = true
  local function reader()
    local piece = f()
    if first and type(piece) == 'string' and piece:byte(1) == 27 then
      error('binary chunks are not allowed', 0)
    end
    first = false
    return piece
  end
  return sandboxed(raw_load(reader, name))
end
G._G = env

-- Functions (FUNCTION LOAD / FCALL) run in their own environment, whose lookups go to the
-- globals, except while a library loads: then only `redis` with register_function, log and
-- the version fields exists (Redis 7.0's load context).
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local load_redis = {
  register_function = api.register_function,
  log = api.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = api.version, REDIS_VERSION_NUM = api.version_num,
}
raw_setmetatable(load_redis, {__index = missing, __metatable = false})
local load_globals = raw_setmetatable({redis = protect(load_redis)}, {__index = missing, __metatable = false})
readonly[load_globals] = true
local fmeta = {__index = G, __newindex = refuse, __metatable = false}
local fenv = raw_setmetatable({}, fmeta)
readonly[fenv] = true
local function run_function(f, handler, keys, args)
  return raw_xpcall(function() return f(keys, args) end, handler)
end

raw_setmetatable(G, {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __metatable = false,
})
return {env = env, fenv = fenv, fmeta = fmeta, load_globals = load_globals, globals = G,
        run_function = run_function}
