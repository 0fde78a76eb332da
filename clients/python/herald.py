"""herald.py: publish to Herald from a Python site, in one file (docs/CLIENTS.md).

    from herald import Herald
    herald = Herald(redis_url="redis://127.0.0.1:6379")            # or node_url=..., publisher_key=...
    herald.publish_to_user("42", '{"text": "hi"}', event_type="chat")
    token = herald.grant(user="42", channels=["news"], ttl=3600)    # needs auth_secret=
    online = herald.is_online("42")                                  # needs admin_url=

Publishing goes through Redis with Herald's publish script (redis-py), or through a node's
`POST /pub` with the publisher key (the standard library). Presence and channel info come from a
node's admin listener. Defaults are the nodes' own (`herald serve --help`).
"""
import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["Herald", "HeraldError"]

# `herald redis-scripts publish`, verbatim: a test fails if this copy drifts from the node's.
PUBLISH_SCRIPT = r"""local clock = redis.call('TIME')
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
"""


class HeraldError(Exception):
    """A refusal or failure: `status` (HTTP status, or 0), `explain` (Herald's reason, if any)."""

    def __init__(self, message, status=0, explain=None):
        super().__init__(message)
        self.status = status
        self.explain = explain


class Herald:
    """A site's connection to Herald. Give `redis_url` to publish through Redis, or `node_url`
    (a node's public listener or nginx, with `--public-publisher`, or its admin listener) and
    `publisher_key` to publish over HTTP; `admin_url` (and `admin_key`) for presence, channel
    info and deletes; `auth_secret` to mint grants."""

    def __init__(self, redis_url=None, node_url=None, admin_url=None, publisher_key=None, admin_key=None,
                 auth_secret=None, prefix="herald:", user_channel_prefix="user:", store=True,
                 max_stored=100, message_ttl=600, channel_retention=86400, max_channels=100000,
                 wildcard_prefix=None, timeout=5.0, idempotency_window=300):
        self.node_url = node_url.rstrip("/") if node_url else None
        self.admin_url = admin_url.rstrip("/") if admin_url else None
        self.publisher_key, self.admin_key, self.auth_secret = publisher_key, admin_key, auth_secret
        self.prefix, self.user_channel_prefix = prefix, user_channel_prefix
        self.store, self.max_stored, self.message_ttl = store, max_stored, message_ttl
        self.channel_retention, self.max_channels, self.wildcard_prefix = channel_retention, max_channels, wildcard_prefix
        self.timeout, self.idempotency_window = timeout, idempotency_window
        self._redis = None
        self._sha = None
        if redis_url:
            import redis  # redis-py, only for the Redis path
            self._redis = redis.Redis.from_url(redis_url, socket_timeout=timeout)
            self._noscript = redis.exceptions.NoScriptError

    # Publishing

    def publish(self, channels, text, event_id=None, event_type=None, idempotency_key=None):
        """Publishes `text` (str or bytes) to one channel or a list; returns one
        `{"channel", "id", "time", "tag"}` per channel, in order. With `idempotency_key`, a
        publish retried with the same key within the window (the nodes' --idempotency-window,
        or `idempotency_window` here through Redis) answers with the first one's id and is not
        published twice."""
        if isinstance(channels, str):
            channels = [channels]
        body = text.encode() if isinstance(text, str) else bytes(text)
        if self._redis is not None:
            return [self._publish_redis(channel, body, event_id, event_type, idempotency_key) for channel in channels]
        return self._publish_http(channels, body, event_id, event_type, idempotency_key)

    def publish_to_user(self, user, text, event_id=None, event_type=None):
        """Publishes to the user's private channel (`user:<id>` with the nodes' prefix)."""
        return self.publish(self.user_channel_prefix + str(user), text, event_id, event_type)[0]

    def _publish_redis(self, channel, body, event_id, event_type, idempotency_key=None):
        p = self.prefix
        wildcard = self.wildcard_prefix and channel.startswith(self.wildcard_prefix)
        keys = ["%s{%s}:meta" % (p, channel), "%s{%s}:log" % (p, channel), p + "channels", p + "stats",
                p + ("live:wildcard" if wildcard else "live")]
        args = [channel, body, event_id or "", event_type or "", "1" if self.store else "0", self.max_stored,
                self.message_ttl, self.channel_retention, "%s{%s}:pub" % (p, channel), self.max_channels or 0]
        if idempotency_key:
            # Kept by the script itself next to the channel's keys, for the window (docs/REDIS.md).
            keys.append("%s{%s}:idem:%s" % (p, channel, idempotency_key))
            args.append(self.idempotency_window)
        if self._sha is None:
            self._sha = self._redis.script_load(PUBLISH_SCRIPT)
        try:
            reply = self._redis.evalsha(self._sha, len(keys), *keys, *args)
        except self._noscript:
            # Redis restarted or its scripts were flushed: load it again, once.
            self._sha = self._redis.script_load(PUBLISH_SCRIPT)
            reply = self._redis.evalsha(self._sha, len(keys), *keys, *args)
        if int(reply[0]) == -1:
            raise HeraldError("Number of channels were exceeded.", 403, "Number of channels were exceeded.")
        return {"channel": channel, "id": int(reply[0]), "time": int(reply[1]), "tag": int(reply[2])}

    def _publish_http(self, channels, body, event_id, event_type, idempotency_key=None):
        if not self.node_url:
            raise HeraldError("give redis_url or node_url to publish")
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        if event_id:
            headers["Event-Id"] = event_id
        if event_type:
            headers["Event-Type"] = event_type
        path = "/pub?id=" + "/".join(urllib.parse.quote(c, safe="") for c in channels)
        answer = self._request(self.node_url, "POST", path, body, self.publisher_key, headers)
        # The answer is the channels' info, read in the same step as the publish: each channel's
        # last id is the message's (push-stream's answer carries no time or tag).
        return [{"channel": c, "id": info["published_messages"], "time": None, "tag": None}
                for c, info in zip(channels, self._parse_infos(channels, answer))]

    # Reading and deleting (the admin listener)

    def channel_info(self, channel):
        """`{"channel", "published_messages", "stored_messages", "subscribers"}`, or None."""
        try:
            return self._infos([channel], self._admin(), self.publisher_key)[0]
        except HeraldError as error:
            if error.status == 404:
                return None
            raise

    def delete(self, channel):
        """Deletes the channel (its subscribers get the deleted notice); True if it existed."""
        try:
            self._request(self._admin(), "DELETE", "/pub?id=" + urllib.parse.quote(channel, safe=""), None,
                          self.publisher_key)
            return True
        except HeraldError as error:
            if error.status == 404:
                return False
            raise

    def presence(self, channel):
        """The users online on `channel` across the cluster: `{user: connections}`."""
        answer = self._request(self._admin(), "GET", "/presence?id=" + urllib.parse.quote(channel, safe=""), None,
                               self.admin_key)
        return {entry["user"]: entry["connections"] for entry in json.loads(answer)["online"]}

    def is_online(self, user):
        """Whether `user` has a connection anywhere in the cluster."""
        answer = self._request(self._admin(), "GET", "/presence?user=" + urllib.parse.quote(str(user), safe=""),
                               None, self.admin_key)
        return bool(json.loads(answer)["online"])

    # Grants

    def grant(self, user=None, channels=(), prefixes=(), ttl=3600, publish=(), not_before=None):
        """A subscriber grant: an HS256 JWT with the claims Herald reads (`sub`, `channels`,
        `channel_prefixes`, `exp`, `nbf`, `publish`), signed with `auth_secret`."""
        if not self.auth_secret:
            raise HeraldError("give auth_secret to mint grants")
        claims = {"exp": int(time.time()) + int(ttl)}
        if user is not None:
            claims["sub"] = str(user)
        if channels:
            claims["channels"] = list(channels)
        if prefixes:
            claims["channel_prefixes"] = list(prefixes)
        if publish:
            claims["publish"] = list(publish)
        if not_before is not None:
            claims["nbf"] = int(not_before)
        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=")
        signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + b64(json.dumps(claims).encode())
        secret = self.auth_secret.encode() if isinstance(self.auth_secret, str) else self.auth_secret
        return (signing + b"." + b64(hmac.new(secret, signing, hashlib.sha256).digest())).decode()

    # HTTP

    def _admin(self):
        url = self.admin_url or self.node_url
        if not url:
            raise HeraldError("give admin_url (a node's admin listener)")
        return url

    def _infos(self, channels, base, key):
        return self._parse_infos(channels, self._request(base, "GET", "/pub?id=" + "/".join(
            urllib.parse.quote(c, safe="") for c in channels), None, key))

    @staticmethod
    def _parse_infos(channels, body):
        answer = json.loads(body)
        if "infos" in answer:
            by_name = {info["channel"]: info for info in answer["infos"]}
            return [by_name.get(c) for c in channels]
        return [answer]

    def _request(self, base, method, path, body, key, headers=None):
        request = urllib.request.Request(base + path, data=body, method=method)
        request.add_header("Accept", "application/json")
        if key:
            request.add_header("Authorization", "Bearer " + key)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.read()
        except urllib.error.HTTPError as error:
            explain = error.headers.get("X-Nginx-PushStream-Explain")
            raise HeraldError("%s %s: %d %s" % (method, path, error.code, explain or ""), error.code, explain) from None
        except (urllib.error.URLError, OSError) as error:
            raise HeraldError("%s %s: %s" % (method, path, error)) from None
