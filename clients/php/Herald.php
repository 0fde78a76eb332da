<?php
/**
 * Herald.php: publish to Herald from a PHP site, in one file (docs/CLIENTS.md). PHP 8; the Redis
 * path needs the phpredis extension, the HTTP path nothing beyond PHP's own streams.
 *
 *   require 'Herald.php';
 *   $herald = new Herald(['redis_url' => 'redis://127.0.0.1:6379']);   // or 'node_url' + 'publisher_key'
 *   $herald->publishToUser('42', json_encode(['text' => 'hi']), eventType: 'chat');
 *   $token = $herald->grant(user: '42', channels: ['news']);          // needs 'auth_secret'
 *   $online = $herald->isOnline('42');                                 // needs 'admin_url'
 *
 * Options (defaults are the nodes' own): redis_url, node_url, admin_url, publisher_key, admin_key,
 * auth_secret, prefix ('herald:'), user_channel_prefix ('user:'), store (true), max_stored (100),
 * message_ttl (600), channel_retention (86400), max_channels (100000), wildcard_prefix (null),
 * timeout (5).
 */

/** A refusal or failure: the HTTP status (0 when there was none) and Herald's reason, if any. */
final class HeraldException extends RuntimeException
{
    public function __construct(string $message, public readonly int $status = 0, public readonly ?string $explain = null)
    {
        parent::__construct($message, $status);
    }
}

final class Herald
{
    /** `herald redis-scripts publish`, verbatim: a test fails if this copy drifts from the node's. */
    public const PUBLISH_SCRIPT = <<<'LUA'
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
if live then redis.call('ZADD', live, now + tonumber(ARGV[8]), ARGV[1]) end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) == false then
  redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[4], 'channel_seq', 1), ARGV[1])
end
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
redis.call('HINCRBY', KEYS[4], 'published_messages', 1)
redis.call('PUBLISH', ARGV[9], envelope)
if idem then redis.call('SET', idem, id .. ' ' .. stamp .. ' ' .. tag, 'EX', ARGV[11]) end
return answer(id, stamp, tag)
LUA;

    private array $options;
    private ?Redis $redis = null;
    private ?string $sha = null;

    public function __construct(array $options = [])
    {
        $this->options = $options + [
            'redis_url' => null, 'node_url' => null, 'admin_url' => null, 'publisher_key' => null,
            'admin_key' => null, 'auth_secret' => null, 'prefix' => 'herald:', 'user_channel_prefix' => 'user:',
            'store' => true, 'max_stored' => 100, 'message_ttl' => 600, 'channel_retention' => 86400,
            'max_channels' => 100000, 'wildcard_prefix' => null, 'timeout' => 5, 'idempotency_window' => 300,
        ];
        if ($this->options['redis_url'] !== null) {
            $this->redis = self::connect($this->options['redis_url'], (float) $this->options['timeout']);
        }
    }

    // Publishing

    /**
     * Publishes $text to one channel or several; one ['channel', 'id', 'time', 'tag'] per channel.
     * Over HTTP, time and tag are null (the node's answer carries the channel's last id only).
     * With $idempotencyKey, a publish retried with the same key within the window (the nodes'
     * --idempotency-window, or the 'idempotency_window' option through Redis) answers with the
     * first one's id and is not published twice.
     */
    public function publish(string|array $channels, string $text, ?string $eventId = null, ?string $eventType = null,
        ?string $idempotencyKey = null): array
    {
        $channels = (array) $channels;
        if ($this->redis !== null) {
            return array_map(fn(string $c) => $this->publishRedis($c, $text, $eventId, $eventType, $idempotencyKey), $channels);
        }
        return $this->publishHTTP($channels, $text, $eventId, $eventType, $idempotencyKey);
    }

    /** Publishes to the user's private channel (`user:<id>` with the nodes' prefix). */
    public function publishToUser(string $user, string $text, ?string $eventId = null, ?string $eventType = null): array
    {
        return $this->publish($this->options['user_channel_prefix'] . $user, $text, $eventId, $eventType)[0];
    }

    private function publishRedis(string $channel, string $text, ?string $eventId, ?string $eventType,
        ?string $idempotencyKey = null): array
    {
        $p = $this->options['prefix'];
        $wildcard = $this->options['wildcard_prefix'] !== null && str_starts_with($channel, $this->options['wildcard_prefix']);
        $tagged = $p . '{' . $channel . '}';
        $keys = ["$tagged:meta", "$tagged:log", $p . 'channels', $p . 'stats', $p . ($wildcard ? 'live:wildcard' : 'live')];
        $args = [$channel, $text, $eventId ?? '', $eventType ?? '', $this->options['store'] ? '1' : '0',
            (string) $this->options['max_stored'], (string) $this->options['message_ttl'],
            (string) $this->options['channel_retention'], "$tagged:pub", (string) ($this->options['max_channels'] ?? 0)];
        if ($idempotencyKey !== null) {
            // Kept by the script itself next to the channel's keys, for the window (docs/REDIS.md).
            $keys[] = "$tagged:idem:$idempotencyKey";
            $args[] = (string) $this->options['idempotency_window'];
        }
        $this->sha ??= $this->redis->script('load', self::PUBLISH_SCRIPT);
        $reply = $this->redis->evalSha($this->sha, array_merge($keys, $args), count($keys));
        if ($reply === false && str_contains((string) $this->redis->getLastError(), 'NOSCRIPT')) {
            // Redis restarted or its scripts were flushed: load it again, once.
            $this->redis->clearLastError();
            $this->sha = $this->redis->script('load', self::PUBLISH_SCRIPT);
            $reply = $this->redis->evalSha($this->sha, array_merge($keys, $args), count($keys));
        }
        if (!is_array($reply)) {
            throw new HeraldException('publish failed: ' . ($this->redis->getLastError() ?? 'no answer'));
        }
        if ((int) $reply[0] === -1) {
            throw new HeraldException('Number of channels were exceeded.', 403, 'Number of channels were exceeded.');
        }
        return ['channel' => $channel, 'id' => (int) $reply[0], 'time' => (int) $reply[1], 'tag' => (int) $reply[2]];
    }

    private function publishHTTP(array $channels, string $text, ?string $eventId, ?string $eventType,
        ?string $idempotencyKey = null): array
    {
        $url = $this->options['node_url'] ?? throw new HeraldException("give 'redis_url' or 'node_url' to publish");
        $headers = $idempotencyKey !== null ? ["Idempotency-Key: $idempotencyKey"] : [];
        if ($eventId !== null) $headers[] = "Event-Id: $eventId";
        if ($eventType !== null) $headers[] = "Event-Type: $eventType";
        $answer = $this->request($url, 'POST', '/pub?id=' . self::path($channels), $text, $this->options['publisher_key'], $headers);
        $infos = self::infos($channels, $answer);
        return array_map(fn($c, $info) => ['channel' => $c, 'id' => $info['published_messages'], 'time' => null, 'tag' => null], $channels, $infos);
    }

    // Reading and deleting (the admin listener)

    /** ['channel', 'published_messages', 'stored_messages', 'subscribers'], or null. */
    public function channelInfo(string $channel): ?array
    {
        try {
            return self::infos([$channel], $this->request($this->admin(), 'GET', '/pub?id=' . rawurlencode($channel), null, $this->options['publisher_key']))[0];
        } catch (HeraldException $e) {
            if ($e->status === 404) return null;
            throw $e;
        }
    }

    /** Deletes the channel (its subscribers get the deleted notice); true if it existed. */
    public function delete(string $channel): bool
    {
        try {
            $this->request($this->admin(), 'DELETE', '/pub?id=' . rawurlencode($channel), null, $this->options['publisher_key']);
            return true;
        } catch (HeraldException $e) {
            if ($e->status === 404) return false;
            throw $e;
        }
    }

    /** The users online on $channel across the cluster: [user => connections]. */
    public function presence(string $channel): array
    {
        $answer = json_decode($this->request($this->admin(), 'GET', '/presence?id=' . rawurlencode($channel), null, $this->options['admin_key']), true);
        return array_column($answer['online'], 'connections', 'user');
    }

    /** Whether $user has a connection anywhere in the cluster. */
    public function isOnline(string $user): bool
    {
        $answer = json_decode($this->request($this->admin(), 'GET', '/presence?user=' . rawurlencode($user), null, $this->options['admin_key']), true);
        return (bool) $answer['online'];
    }

    // Grants

    /**
     * A subscriber grant: an HS256 JWT with the claims Herald reads (sub, channels,
     * channel_prefixes, exp, nbf, publish), signed with 'auth_secret'.
     */
    public function grant(?string $user = null, array $channels = [], array $prefixes = [], int $ttl = 3600, array $publish = [], ?int $notBefore = null): string
    {
        $secret = $this->options['auth_secret'] ?? throw new HeraldException("give 'auth_secret' to mint grants");
        $claims = ['exp' => time() + $ttl];
        if ($user !== null) $claims['sub'] = $user;
        if ($channels) $claims['channels'] = array_values($channels);
        if ($prefixes) $claims['channel_prefixes'] = array_values($prefixes);
        if ($publish) $claims['publish'] = array_values($publish);
        if ($notBefore !== null) $claims['nbf'] = $notBefore;
        $b64 = fn(string $s) => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
        $signing = $b64(json_encode(['alg' => 'HS256', 'typ' => 'JWT'])) . '.' . $b64(json_encode($claims, JSON_UNESCAPED_SLASHES));
        return $signing . '.' . $b64(hash_hmac('sha256', $signing, $secret, true));
    }

    // Plumbing

    private function admin(): string
    {
        return $this->options['admin_url'] ?? $this->options['node_url'] ?? throw new HeraldException("give 'admin_url' (a node's admin listener)");
    }

    private static function path(array $channels): string
    {
        return implode('/', array_map('rawurlencode', $channels));
    }

    private static function infos(array $channels, string $body): array
    {
        $answer = json_decode($body, true);
        if (!isset($answer['infos'])) return [$answer];
        $byName = array_column($answer['infos'], null, 'channel');
        return array_map(fn($c) => $byName[$c] ?? null, $channels);
    }

    private function request(string $base, string $method, string $path, ?string $body, ?string $key, array $headers = []): string
    {
        $headers[] = 'Accept: application/json';
        if ($key !== null && $key !== '') $headers[] = "Authorization: Bearer $key";
        $context = stream_context_create(['http' => [
            'method' => $method, 'header' => implode("\r\n", $headers), 'content' => $body ?? '',
            'ignore_errors' => true, 'timeout' => (float) $this->options['timeout'],
        ]]);
        $answer = @file_get_contents(rtrim($base, '/') . $path, false, $context);
        if ($answer === false || !isset($http_response_header[0])) {
            throw new HeraldException("$method $path: no answer");
        }
        $status = (int) explode(' ', $http_response_header[0])[1];
        if ($status >= 300) {
            $explain = null;
            foreach ($http_response_header as $line) {
                if (stripos($line, 'X-Nginx-PushStream-Explain:') === 0) $explain = trim(substr($line, 27));
            }
            throw new HeraldException("$method $path: $status " . ($explain ?? ''), $status, $explain);
        }
        return $answer;
    }

    private static function connect(string $url, float $timeout): Redis
    {
        $parts = parse_url($url);
        if ($parts === false || ($parts['scheme'] ?? '') !== 'redis') throw new HeraldException("not a redis:// URL: $url");
        $redis = new Redis();
        $redis->connect($parts['host'] ?? '127.0.0.1', $parts['port'] ?? 6379, $timeout);
        if (isset($parts['pass'])) {
            $redis->auth(isset($parts['user']) && $parts['user'] !== '' ? [rawurldecode($parts['user']), rawurldecode($parts['pass'])] : rawurldecode($parts['pass']));
        }
        $db = (int) ltrim($parts['path'] ?? '', '/');
        if ($db > 0) $redis->select($db);
        return $redis;
    }
}
