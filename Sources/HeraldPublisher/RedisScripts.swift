/// The Lua scripts that make every channel operation one atomic step in Redis. Their calling
/// conventions are documented in docs/REDIS.md so other languages can call them too.
public enum RedisScripts {
    /// Next gap-free id and per-channel tag, append, trim, expire, count, publish.
    ///
    /// KEYS: meta, log, channels, stats, and optionally subscribers and nodes. ARGV: channel, text,
    /// event id, event type, store (1|0), max stored, message ttl (s), channel retention (s), pub/sub
    /// channel. Returns `{id, time, tag}`; with the two optional keys also the channel's stored
    /// messages and its subscribers on live nodes, so a publisher answering with channel info needs
    /// no second round trip.
    public static let publish = #"""
        local clock = redis.call('TIME')
        local now = tonumber(clock[1])
        local meta = redis.call('HMGET', KEYS[1], 'last_id', 'last_time', 'last_tag')
        if meta[1] == false then
          redis.call('HSETNX', KEYS[1], 'epoch', clock[1] .. string.format('%06d', tonumber(clock[2])))
        end
        local id = tonumber(meta[1] or '0') + 1
        local tag = 1
        if tonumber(meta[2] or '-1') == now then tag = tonumber(meta[3] or '0') + 1 end
        redis.call('HSET', KEYS[1], 'last_id', id, 'last_time', now, 'last_tag', tag)
        redis.call('EXPIRE', KEYS[1], ARGV[8])
        if redis.call('ZSCORE', KEYS[3], ARGV[1]) == false then
          redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[4], 'channel_seq', 1), ARGV[1])
        end
        local envelope = string.format('1 %d %d %d %d %d %d\n', id, now, tag, #ARGV[1], #ARGV[3], #ARGV[4])
          .. ARGV[1] .. ARGV[3] .. ARGV[4] .. ARGV[2]
        if ARGV[5] == '1' then
          redis.call('RPUSH', KEYS[2], envelope)
          redis.call('LTRIM', KEYS[2], -tonumber(ARGV[6]), -1)
          local cutoff = now - tonumber(ARGV[7])
          while true do
            local head = redis.call('LINDEX', KEYS[2], 0)
            if not head then break end
            local t = tonumber(string.match(head, '^1 %-?%d+ (%d+)'))
            if t == nil or t > cutoff then break end
            redis.call('LPOP', KEYS[2])
          end
          redis.call('EXPIRE', KEYS[2], ARGV[7])
        end
        redis.call('HINCRBY', KEYS[4], 'published_messages', 1)
        redis.call('PUBLISH', ARGV[9], envelope)
        if KEYS[6] == nil then return {id, now, tag} end
        local live = {}
        local nowms = string.format('%d', now * 1000 + math.floor(tonumber(clock[2]) / 1000))
        for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], nowms, '+inf')) do live[node] = true end
        local counts = redis.call('HGETALL', KEYS[5])
        local subscribers = 0
        for i = 1, #counts, 2 do
          if live[counts[i]] then subscribers = subscribers + tonumber(counts[i + 1]) end
        end
        return {id, now, tag, redis.call('LLEN', KEYS[2]), subscribers}
        """#

    /// A channel's last id and its unexpired stored messages, read together.
    ///
    /// KEYS: meta, log. ARGV: message ttl (s). Returns `{last_id or "", epoch or "", envelope…}`.
    public static let read = #"""
        local now = tonumber(redis.call('TIME')[1])
        local meta = redis.call('HMGET', KEYS[1], 'last_id', 'epoch')
        local entries = redis.call('LRANGE', KEYS[2], 0, -1)
        local cutoff = now - tonumber(ARGV[1])
        local result = {meta[1] or '', meta[2] or ''}
        for _, entry in ipairs(entries) do
          local t = tonumber(string.match(entry, '^1 %-?%d+ (%d+)'))
          if t ~= nil and t > cutoff then result[#result + 1] = entry end
        end
        return result
        """#

    /// Removes a channel and tells its subscribers with an id -2 envelope carrying the notice.
    ///
    /// KEYS: meta, log, channels. ARGV: channel, pub/sub channel, notice. Returns 1 if it existed.
    public static let delete = #"""
        local existed = redis.call('DEL', KEYS[1], KEYS[2])
        redis.call('ZREM', KEYS[3], ARGV[1])
        if existed > 0 then
          redis.call('PUBLISH', ARGV[2], string.format('1 -2 0 0 %d 0 0\n', #ARGV[1]) .. ARGV[1] .. ARGV[3])
        end
        if existed > 0 then return 1 else return 0 end
        """#

    /// Creates a channel with no message (a subscriber joining), so it exists and is listed.
    ///
    /// KEYS: meta, channels, stats. ARGV: channel, channel retention (s). Returns 1 if it was created.
    public static let create = #"""
        local created = redis.call('HSETNX', KEYS[1], 'last_id', 0)
        if created == 1 then
          local clock = redis.call('TIME')
          redis.call('HSETNX', KEYS[1], 'epoch', clock[1] .. string.format('%06d', tonumber(clock[2])))
        end
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        if redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then
          redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[3], 'channel_seq', 1), ARGV[1])
        end
        return created
        """#
}
