-- kevy's Lua sandbox: read-only tables and protected globals, as Redis 7.0
-- shows them to scripts. Redis patches its Lua to flag tables read-only;
-- kevy runs an unpatched Lua 5.1, so a read-only table is an empty proxy
-- whose reads fall through to the real table and whose writes fail, and
-- the few base functions that bypass metatables (rawset, setmetatable,
-- rawget, next, ...) are wrapped to see through the proxies.
--
-- Called once per Lua state with the real globals table; returns the
-- helpers the Rust side needs.
local G = ...
local rawset_, rawget_, setmetatable_, getmetatable_ = rawset, rawget, setmetatable, getmetatable
local next_, type_, error_, tostring_, ipairs_ = next, type, error, tostring, ipairs
local tinsert, tremove, tsort = table.insert, table.remove, table.sort

local RO = 'Attempt to modify a readonly table'
-- proxy -> the table it stands for (weak: proxies of dropped tables go).
local real = setmetatable_({}, { __mode = 'k' })
-- proxy -> what getmetatable answers for it.
local mt_view = setmetatable_({}, { __mode = 'k' })

-- An assignment through a proxy: the error names the script's line, as a
-- write to a read-only table does in Redis.
local function deny()
    error_(RO, 2)
end

local function missing(_, k)
    error_("Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 2)
end

-- A read-only view of `t`. With `strict`, reading a field `t` lacks is an
-- error (the globals, and the library API of FUNCTION LOAD).
local function readonly(t, strict)
    if strict then
        setmetatable_(t, { __index = missing })
    end
    local p = setmetatable_({}, { __index = t, __newindex = deny })
    real[p] = t
    return p
end

local function check_writable(t)
    if real[t] ~= nil then
        error_(RO, 0)
    end
end

rawset = function(t, k, v)
    check_writable(t)
    return rawset_(t, k, v)
end
rawget = function(t, k)
    return rawget_(real[t] or t, k)
end
setmetatable = function(t, mt)
    check_writable(t)
    return setmetatable_(t, mt)
end
local string_mt_view
getmetatable = function(v)
    if type_(v) == 'string' then
        return string_mt_view
    end
    if real[v] ~= nil then
        return mt_view[v]
    end
    return getmetatable_(v)
end
next = function(t, k)
    return next_(real[t] or t, k)
end
local wrapped_next = next
pairs = function(t)
    return wrapped_next, t, nil
end
ipairs = function(t)
    return ipairs_(real[t] or t)
end
table.insert = function(t, ...)
    check_writable(t)
    return tinsert(t, ...)
end
table.remove = function(t, ...)
    check_writable(t)
    return tremove(t, ...)
end
table.sort = function(t, ...)
    check_writable(t)
    return tsort(t, ...)
end

-- Compiled chunks only: bytecode could break the VM's invariants.
local loadstring_, load_, concat = loadstring, load, table.concat
local function is_binary(s)
    return type_(s) == 'string' and s:byte(1) == 27
end
loadstring = function(s, name)
    if is_binary(s) then
        return nil, 'binary chunks are not allowed'
    end
    return loadstring_(s, name)
end
load = function(f, name)
    local parts = {}
    while true do
        local piece = f()
        if piece == nil or piece == '' then
            break
        end
        parts[#parts + 1] = piece
    end
    return loadstring(concat(parts), name)
end

-- Redis's pcall hands a caught error table (what redis.call raises) to
-- the script as its `err` string.
local pcall_ = pcall
local function caught(ok, ...)
    if not ok then
        local e = ...
        if type_(e) == 'table' and rawget_(e, 'err') ~= nil then
            return false, rawget_(e, 'err')
        end
    end
    return ok, ...
end
local select_ = select
pcall = function(...)
    if select_('#', ...) == 0 then
        -- Redis's C pcall ends up calling the `false` it pushed first.
        return false, 'attempt to call a boolean value'
    end
    return caught(pcall_(...))
end

local helpers = {}

-- Freezes the library tables and the globals. Returns the proxy that
-- becomes the scripts' global table (`_G`).
function helpers.freeze(libs)
    for _, name in ipairs_(libs) do
        local t = rawget_(G, name)
        if t ~= nil then
            rawset_(G, name, readonly(t, false))
        end
    end
    local smt = getmetatable_('')
    if smt ~= nil then
        string_mt_view = readonly({ __index = rawget_(G, 'string') }, false)
    end
    local proxy = readonly(G, true)
    mt_view[proxy] = readonly(getmetatable_(G), false)
    rawset_(G, '_G', proxy)
    return proxy
end

helpers.readonly = readonly

-- An environment for a function library's code: reads go to the load-time
-- API while the library loads, then to the runtime globals; writes fail.
function helpers.library_env(load_api)
    local mt = { __index = load_api, __newindex = deny }
    local env = setmetatable_({}, mt)
    real[env] = load_api
    local function go_live(globals)
        mt.__index = globals
        real[env] = globals
    end
    return env, go_live
end

return helpers
