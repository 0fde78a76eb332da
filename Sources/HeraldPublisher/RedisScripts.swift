/// The Lua scripts that make every channel operation one atomic step in Redis. Their calling
/// conventions are documented in docs/REDIS.md so other languages can call them too.
public enum RedisScripts {
    /// The next id, its second and tag (`StreamPoint.next(after:now:generation:)`: in the second
    /// the generation began, tags continue from its microsecond), the channel's generation: `meta`
    /// (KEYS[1]) updated.
    static let assignID = #"""
        local epoch = meta[4]
        if not epoch then
          epoch = clock[1] .. string.format('%06d', tonumber(clock[2]))
          redis.call('HSET', KEYS[1], 'epoch', epoch)
        end
        local id = tonumber(meta[1] or '0') + 1
        local began = tonumber(string.sub(epoch, 1, -7))
        local stamp = math.max(now, began)
        local tag = 1
        if tonumber(meta[2] or '-1') == stamp then tag = tonumber(meta[3] or '0') + 1
        elseif stamp == began then tag = tonumber(string.sub(epoch, -6)) + 1 end
        redis.call('HSET', KEYS[1], 'last_id', id, 'last_time', stamp, 'last_tag', tag)
        redis.call('EXPIRE', KEYS[1], ARGV[8])
        """#

    /// The envelope, appended to the log (KEYS[2]) and trimmed when storing.
    static let storeAndEncode = #"""
        local envelope = string.format('3 %d %d %d %s %d %d %s %d %d %d\n', id, stamp, tag, epoch,
          tonumber(meta[2] or '0'), tonumber(meta[3] or '0'), clock[1] .. string.format('%06d', tonumber(clock[2])),
          #ARGV[1], #ARGV[3], #ARGV[4])
          .. ARGV[1] .. ARGV[3] .. ARGV[4] .. ARGV[2]
        if ARGV[5] == '1' then
          redis.call('RPUSH', KEYS[2], envelope)
          redis.call('LTRIM', KEYS[2], -tonumber(ARGV[6]), -1)
          local cutoff = now - tonumber(ARGV[7])
          while true do
            local head = redis.call('LINDEX', KEYS[2], 0)
            if not head then break end
            local t = tonumber(string.match(head, '^%d %-?%d+ (%d+)'))
            if t == nil or t > cutoff then break end
            redis.call('LPOP', KEYS[2])
          end
          redis.call('EXPIRE', KEYS[2], ARGV[7])
        end
        """#

    /// A publish with an idempotency key (ARGV[11], the window in seconds, is set; the key is
    /// the last of KEYS, `nkeys` the count without it): one seen within the window answers as
    /// the first did (through `answer`) and publishes nothing.
    static let replayIfSeen = #"""
        local idem = nil
        if (ARGV[11] or '') ~= '' then
          idem = KEYS[nkeys]
          nkeys = nkeys - 1
          local seen = redis.call('GET', idem)
          if seen then
            local first, second, third = string.match(seen, '^(%d+) (%d+) (%d+)$')
            return answer(tonumber(first), tonumber(second), tonumber(third))
          end
        end
        """#

    /// Remembers a publish's answer under its idempotency key for the window.
    static let rememberAnswer = #"""
        if idem then redis.call('SET', idem, id .. ' ' .. stamp .. ' ' .. tag, 'EX', ARGV[11]) end
        """#

    /// Next gap-free id and per-channel tag, append, trim, expire, count, publish.
    ///
    /// KEYS: meta, log, channels, stats, optionally live (5 or 7 keys), optionally subscribers
    /// and nodes, and last the idempotency key when ARGV[11] is given. ARGV: channel, text, event
    /// id, event type, store (1|0), max stored, message ttl (s), channel retention (s), pub/sub
    /// channel, optionally the most channels the live set may hold (0: no limit), and optionally
    /// the idempotency window (s). Returns `{id, time, tag}`; with subscribers and nodes also the
    /// channel's stored messages and its subscribers on live nodes, so a publisher answering with
    /// channel info needs no second round trip. Returns `{-1}` when the channel is new and the live
    /// set is full. A publish whose idempotency key was seen within the window returns the first
    /// one's id, time and tag and publishes nothing.
    public static let publish = #"""
        local clock = redis.call('TIME')
        local now = tonumber(clock[1])
        local nkeys = #KEYS
        local function answer(id, stamp, tag)
          if nkeys < 6 then return {id, stamp, tag} end
          local nodes = {}
          local nowms = string.format('%d', now * 1000 + math.floor(tonumber(clock[2]) / 1000))
          for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[nkeys], nowms, '+inf')) do nodes[node] = true end
          local counts = redis.call('HGETALL', KEYS[nkeys - 1])
          local subscribers = 0
          for i = 1, #counts, 2 do
            if nodes[counts[i]] then subscribers = subscribers + tonumber(counts[i + 1]) end
          end
          return {id, stamp, tag, redis.call('LLEN', KEYS[2]), subscribers}
        end
        \#(replayIfSeen)
        local live = nil
        if nkeys == 5 or nkeys == 7 then live = KEYS[5] end
        local meta = redis.call('HMGET', KEYS[1], 'last_id', 'last_time', 'last_tag', 'epoch')
        if meta[1] == false then
          if live then
            local expired = redis.call('ZRANGEBYSCORE', live, '-inf', now, 'LIMIT', 0, 100)
            if #expired > 0 then
              redis.call('ZREM', live, unpack(expired))
              redis.call('ZREM', KEYS[3], unpack(expired))
            end
            local max = tonumber(ARGV[10] or '0')
            if max > 0 and redis.call('ZCARD', live) - redis.call('ZCOUNT', live, '-inf', now) >= max then
              return {-1}
            end
          end
        end
        \#(assignID)
        if live then redis.call('ZADD', live, now + tonumber(ARGV[8]), ARGV[1]) end
        if redis.call('ZSCORE', KEYS[3], ARGV[1]) == false then
          redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[4], 'channel_seq', 1), ARGV[1])
        end
        \#(storeAndEncode)
        redis.call('HINCRBY', KEYS[4], 'published_messages', 1)
        redis.call('PUBLISH', ARGV[9], envelope)
        \#(rememberAnswer)
        return answer(id, stamp, tag)
        """#

    /// ``publish`` for Redis Cluster: only the channel's own keys (one slot), and the message goes
    /// out with `SPUBLISH` on the channel's shard alone. Cluster-wide lists (the channel listing,
    /// totals, the live set a channel limit counts) are not kept.
    ///
    /// KEYS: meta, log, optionally subscribers, and last the idempotency key when ARGV[11] is
    /// given. ARGV: as ``publish`` (the first nine), then `1` to refuse creating the channel (the
    /// node's view of the cluster's channel limit; anything else allows it), then optionally the
    /// idempotency window (s). Returns `{id, time, tag}`; with subscribers also the stored messages
    /// and the subscribers every node registered, live or not: `{id, time, tag, stored,
    /// subscribers}`; `{-1}` when the channel is new and creating it was refused.
    public static let publishSharded = #"""
        local clock = redis.call('TIME')
        local now = tonumber(clock[1])
        local nkeys = #KEYS
        local function answer(id, stamp, tag)
          if nkeys < 3 then return {id, stamp, tag} end
          local subscribers = 0
          for _, count in ipairs(redis.call('HVALS', KEYS[3])) do subscribers = subscribers + tonumber(count) end
          return {id, stamp, tag, redis.call('LLEN', KEYS[2]), subscribers}
        end
        \#(replayIfSeen)
        local meta = redis.call('HMGET', KEYS[1], 'last_id', 'last_time', 'last_tag', 'epoch')
        if meta[1] == false and ARGV[10] == '1' then return {-1} end
        \#(assignID)
        \#(storeAndEncode)
        redis.call('SPUBLISH', ARGV[9], envelope)
        \#(rememberAnswer)
        return answer(id, stamp, tag)
        """#

    /// A channel's last message and its unexpired stored messages, read together.
    ///
    /// KEYS: meta, log. ARGV: message ttl (s). Returns `{last_id or "", epoch or "", last_time or
    /// "", last_tag or "", fence ("<id> <time> <tag>") or "", envelope…}`.
    public static let read = #"""
        local now = tonumber(redis.call('TIME')[1])
        local meta = redis.call('HMGET', KEYS[1], 'last_id', 'epoch', 'last_time', 'last_tag', 'fence')
        local entries = redis.call('LRANGE', KEYS[2], 0, -1)
        local cutoff = now - tonumber(ARGV[1])
        local result = {meta[1] or '', meta[2] or '', meta[3] or '', meta[4] or '', meta[5] or ''}
        for _, entry in ipairs(entries) do
          local t = tonumber(string.match(entry, '^%d %-?%d+ (%d+)'))
          if t ~= nil and t > cutoff then result[#result + 1] = entry end
        end
        return result
        """#

    /// Records that Redis lost messages it had acknowledged (a failover before they reached the
    /// replica, a restart from an older snapshot): a node delivered message `id` at (`time`, `tag`)
    /// of the channel's generation, and the channel's `meta` no longer reaches it, or has newer
    /// messages under ids up to it. Only the channel's `meta` is touched, so it runs unchanged on
    /// a Redis Cluster.
    ///
    /// When nothing was published since the loss, the lost ids are not handed out again:
    /// `last_id`, its time and tag rise to the delivered message's, so the next publish continues
    /// after what subscribers saw. The `fence` field (`<id> <time> <tag>`) is where a subscriber
    /// must stand to have missed nothing: its time and tag are the delivered message's, its id
    /// `id`, or one past every id handed out twice when publishes already reused some (those ids
    /// name two messages, so a cursor among them gets the gap notice; the new messages keep
    /// theirs). Fences only rise, so nodes that delivered different amounts may all call it.
    ///
    /// KEYS: meta. ARGV: generation, id, time, tag. Returns 1 when it moved the fence, 0 when the
    /// channel is of another generation (or gone) or already fenced there.
    public static let fence = #"""
        local meta = redis.call('HMGET', KEYS[1], 'last_id', 'last_time', 'last_tag', 'epoch', 'fence')
        if meta[4] ~= ARGV[1] or meta[1] == false then return 0 end
        local id, t, tag = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local fid, ft, ftag = 0, 0, 0
        if meta[5] then
          local a, b, c = string.match(meta[5], '^(%d+) (%d+) (%d+)$')
          fid, ft, ftag = tonumber(a), tonumber(b), tonumber(c)
        end
        local function after(t1, g1, t2, g2) return t1 > t2 or (t1 == t2 and g1 > g2) end
        if fid >= id and not after(t, tag, ft, ftag) then return 0 end
        local last, lt, lg = tonumber(meta[1]), tonumber(meta[2] or '0'), tonumber(meta[3] or '0')
        local reused = after(lt, lg, t, tag)
        local newid = id
        if reused then newid = math.max(last, id) + 1 end
        if fid > newid then newid = fid end
        if after(ft, ftag, t, tag) then t, tag = ft, ftag end
        if last < id and not reused then
          redis.call('HSET', KEYS[1], 'last_id', id, 'last_time', t, 'last_tag', tag)
        end
        redis.call('HSET', KEYS[1], 'fence', newid .. ' ' .. t .. ' ' .. tag)
        return 1
        """#

    /// Removes a channel and tells its subscribers with an id -2 envelope carrying the notice.
    ///
    /// KEYS: meta, log, channels, optionally live. ARGV: channel, pub/sub channel, notice. Returns 1
    /// if it existed.
    public static let delete = #"""
        local existed = redis.call('DEL', KEYS[1], KEYS[2])
        redis.call('ZREM', KEYS[3], ARGV[1])
        if KEYS[4] then redis.call('ZREM', KEYS[4], ARGV[1]) end
        if existed > 0 then redis.call('PUBLISH', ARGV[2], \#(deletedNotice)) end
        if existed > 0 then return 1 else return 0 end
        """#

    /// The id -2 envelope telling subscribers the channel (ARGV[1]) is gone, with the notice ARGV[3].
    static let deletedNotice = #"string.format('1 -2 0 0 %d 0 0\n', #ARGV[1]) .. ARGV[1] .. ARGV[3]"#

    /// ``delete`` for Redis Cluster: the channel's own keys, the notice by `SPUBLISH`.
    ///
    /// KEYS: meta, log. ARGV: as ``delete``. Returns 1 if the channel existed, else 0.
    public static let deleteSharded = #"""
        local existed = redis.call('DEL', KEYS[1], KEYS[2])
        if existed > 0 then redis.call('SPUBLISH', ARGV[2], \#(deletedNotice)) end
        if existed > 0 then return 1 else return 0 end
        """#

    /// Creates a channel with no message (a subscriber joining), so it exists and is listed; also
    /// keeps an existing one alive while it has subscribers.
    ///
    /// KEYS: meta, channels, stats, optionally live. ARGV: channel, channel retention (s), and with
    /// the live key: channel inactivity (s), the most channels the live set may hold (0: no limit).
    /// A channel with no message yet lives for the inactivity time from its last call, one with
    /// messages for the retention; an expiry is only ever extended. Returns 1 if it was created,
    /// 0 if it existed, -1 if it is new and the live set is full.
    public static let create = #"""
        local clock = redis.call('TIME')
        local now = tonumber(clock[1])
        local live = KEYS[4]
        local last = redis.call('HGET', KEYS[1], 'last_id')
        local created = 0
        if last == false then
          if live then
            local expired = redis.call('ZRANGEBYSCORE', live, '-inf', now, 'LIMIT', 0, 100)
            if #expired > 0 then
              redis.call('ZREM', live, unpack(expired))
              redis.call('ZREM', KEYS[2], unpack(expired))
            end
            local max = tonumber(ARGV[4] or '0')
            if max > 0 and redis.call('ZCARD', live) - redis.call('ZCOUNT', live, '-inf', now) >= max then
              return -1
            end
          end
          \#(newMeta)
          created = 1
        end
        local ttl = tonumber(ARGV[2])
        if live and (last == false or last == '0') then ttl = tonumber(ARGV[3]) end
        \#(extendExpiry)
        if live then redis.call('ZADD', live, now + current, ARGV[1]) end
        if redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then
          redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[3], 'channel_seq', 1), ARGV[1])
        end
        return created
        """#

    /// A channel with no message: `meta` (KEYS[1]) with id 0 and its generation.
    static let newMeta = #"""
        redis.call('HSET', KEYS[1], 'last_id', 0)
        redis.call('HSETNX', KEYS[1], 'epoch', clock[1] .. string.format('%06d', tonumber(clock[2])))
        """#

    /// `meta`'s expiry raised to `ttl` seconds, never lowered; `current` is the one it ends with.
    static let extendExpiry = #"""
        local current = redis.call('TTL', KEYS[1])
        if current < ttl then
          redis.call('EXPIRE', KEYS[1], ttl)
          current = ttl
        end
        """#

    /// ``create`` for Redis Cluster: the channel's `meta` alone. The node lists the channel and
    /// counts it against the channel limit itself (docs/REDIS.md).
    ///
    /// KEYS: meta. ARGV: channel, channel retention (s), channel inactivity (s), and optionally `1`
    /// to refuse creating it. Returns `{created (1|0), seconds the channel now lives}`, or `{-1}`
    /// when it is new and creating it was refused.
    public static let createSharded = #"""
        local clock = redis.call('TIME')
        local last = redis.call('HGET', KEYS[1], 'last_id')
        local created = 0
        if last == false then
          if ARGV[4] == '1' then return {-1} end
          \#(newMeta)
          created = 1
        end
        local ttl = tonumber(ARGV[2])
        if last == false or last == '0' then ttl = tonumber(ARGV[3]) end
        \#(extendExpiry)
        return {created, current}
        """#
}
