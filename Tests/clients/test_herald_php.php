<?php
// clients/php/Herald.php against a real redis-server and a real node.
//   HERALD_BIN=.build/debug/herald php Tests/clients/test_herald_php.php
// Each check prints one line; the first failure ends the run with status 1.
require __DIR__ . '/../../clients/php/Herald.php';

$herald = getenv('HERALD_BIN') ?: exit("HERALD_BIN is not set\n");
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';
const PUBLISHER_KEY = 'publisher-key-for-tests';
const ADMIN_KEY = 'admin-key-for-tests';

function freePort(): int {
    $socket = stream_socket_server('tcp://127.0.0.1:0');
    $port = (int) explode(':', stream_socket_get_name($socket, false))[1];
    fclose($socket);
    return $port;
}
function check(bool $ok, string $what): void {
    if (!$ok) { fwrite(STDERR, "php client: FAILED: $what\n"); stop(); exit(1); }
    echo "php client: $what\n";
}
function waitFor(callable $condition, string $what, float $timeout = 10): void {
    $deadline = microtime(true) + $timeout;
    while (microtime(true) < $deadline) {
        try { if ($condition()) return; } catch (Throwable) {}
        usleep(50_000);
    }
    check(false, "$what (within $timeout s)");
}
$children = [];
function stop(): void {
    global $children;
    foreach ($children as $child) { proc_terminate($child, 15); }
    foreach ($children as $child) { proc_close($child); }
    $children = [];
}
function start(array $command): void {
    global $children;
    $children[] = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
}

/** A raw EventSource connection, read until $count data lines. */
function events($socket, int $count, float $timeout = 5): array {
    static $buffers = [];
    $id = (int) $socket;
    $buffers[$id] ??= '';
    $deadline = microtime(true) + $timeout;
    stream_set_blocking($socket, false);
    while (substr_count($buffers[$id], "data: ") < $count && microtime(true) < $deadline) {
        $chunk = fread($socket, 65536);
        if ($chunk === false || ($chunk === '' && feof($socket))) break;
        $buffers[$id] .= $chunk;
        if ($chunk === '') usleep(20_000);
    }
    $all = [];
    $current = [];
    foreach (explode("\n", str_replace("\r\n", "\n", $buffers[$id])) as $line) {
        foreach (['id', 'event', 'data'] as $field) {
            if (str_starts_with($line, "$field: ")) $current[$field] = substr($line, strlen($field) + 2);
        }
        if (str_starts_with($line, 'data: ')) { $all[] = $current; $current = []; }
    }
    return $all;
}
function subscribe(int $port, string $path) {
    $socket = stream_socket_client("tcp://127.0.0.1:$port", $errno, $error, 5);
    fwrite($socket, "GET $path HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n");
    $status = (int) explode(' ', fgets($socket))[1];
    return [$socket, $status];
}
function pollStatus(int $port, string $path): int {
    $context = stream_context_create(['http' => ['ignore_errors' => true, 'header' => 'X-Nginx-PushStream-Mode: polling']]);
    @file_get_contents("http://127.0.0.1:$port$path", false, $context);
    return (int) explode(' ', $http_response_header[0])[1];
}

$redisPort = freePort(); $port = freePort(); $adminPort = freePort();
$directory = sys_get_temp_dir() . '/herald-php-' . getmypid();
@mkdir($directory);
start(['redis-server', '--port', (string) $redisPort, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', $directory]);
start([$herald, 'serve', '--host', '127.0.0.1', '--port', (string) $port, '--admin-port', (string) $adminPort,
    '--redis', "redis://127.0.0.1:$redisPort", '--auth-secret', SECRET, '--user-channel-prefix', 'user:',
    '--public-publisher', '--publisher-key', PUBLISHER_KEY, '--admin-key', ADMIN_KEY, '--log-level', 'error']);
waitFor(fn() => @file_get_contents("http://127.0.0.1:$adminPort/readyz") === "ready\n", 'the node is up');
$admin = "http://127.0.0.1:$adminPort";
$client = new Herald(['redis_url' => "redis://127.0.0.1:$redisPort", 'admin_url' => $admin,
    'publisher_key' => PUBLISHER_KEY, 'admin_key' => ADMIN_KEY, 'auth_secret' => SECRET]);

// The script is the node's.
$printed = shell_exec(escapeshellarg($herald) . ' redis-scripts publish');
check(rtrim(Herald::PUBLISH_SCRIPT, "\n") === rtrim($printed, "\n"), "the publish script is herald redis-scripts publish's");

// Through Redis, to a user, with event id and type: exactly once, with its ids.
[$stream, $status] = subscribe($port, '/ev/user:42?token=' . $client->grant(user: '42'));
check($status === 200, 'a grant minted for user 42 opens user:42');
waitFor(fn() => $client->channelInfo('user:42')['subscribers'] === 1, 'the subscriber is counted');
$sent = $client->publishToUser('42', '{"text": "hi"}', eventId: 'e-1', eventType: 'chat');
check($sent['channel'] === 'user:42' && $sent['id'] === 1 && $sent['time'] > 0, 'publishToUser returns id 1 and a time');
events($stream, 1);
usleep(300_000);
$got = events($stream, 1, 0.2);
$message = json_decode($got[0]['data'] ?? 'null', true);
check(count($got) === 1 && $message['id'] === 1 && $message['text'] === '{"text": "hi"}' && $message['eventid'] === 'e-1',
    'the subscriber got the message once, with its id and event id');
check(($got[0]['event'] ?? null) === 'chat', 'and its event type');
fclose($stream);

// A flushed script is loaded again.
$first = $client->publish('flush', 'one')[0]['id'];
$raw = new Redis(); $raw->connect('127.0.0.1', $redisPort); $raw->script('flush');
$after = array_column($client->publish(['flush', 'flush-2'], 'two'), 'id');
check([$first, ...$after] === [1, 2, 1], 'NOSCRIPT after SCRIPT FLUSH is recovered');

// HTTP: the key is required.
$keyless = new Herald(['node_url' => "http://127.0.0.1:$port"]);
try { $keyless->publish('http', 'no key'); check(false, 'publishing without the key is refused'); }
catch (HeraldException $e) { check($e->status === 401, 'publishing over HTTP without the key: 401'); }
$keyed = new Herald(['node_url' => "http://127.0.0.1:$port", 'publisher_key' => PUBLISHER_KEY]);
check(array_column($keyed->publish(['http', 'http-2'], 'with key', eventType: 'x'), 'id') === [1, 1], 'publishing over HTTP with the key');
check($keyed->publish('http', 'again')[0]['id'] === 2, 'the next id over HTTP');
check($client->channelInfo('http')['published_messages'] === 2, 'channel info');
check($client->delete('http') === true && $client->delete('http') === false && $client->channelInfo('http') === null, 'delete');

// A retried publish is stored once, through Redis and through a node alike.
$first = $client->publish('retry', 'paid', idempotencyKey: 'order-1')[0]['id'];
$again = $client->publish('retry', 'paid', idempotencyKey: 'order-1')[0]['id'];
$overHTTP = $keyed->publish('retry', 'paid', idempotencyKey: 'order-1')[0]['id'];
$next = $keyed->publish('retry', 'shipped', idempotencyKey: 'order-2')[0]['id'];
check([$first, $again, $overHTTP, $next] === [1, 1, 1, 2], 'a retry with the same idempotency key answers with the first id');
check($client->channelInfo('retry')['stored_messages'] === 2, 'and is stored once');

// A minted grant opens exactly its channels.
$token = $client->grant(channels: ['open'], prefixes: ['room:'], ttl: 60);
check(pollStatus($port, "/lp/open?token=$token") === 304 && pollStatus($port, "/lp/room:7?token=$token") === 304, 'the grant opens its channel and prefix');
check(pollStatus($port, "/lp/closed?token=$token") === 403 && pollStatus($port, "/lp/user:42?token=$token") === 403, 'and nothing else');

// Presence follows a user.
check($client->isOnline('77') === false, 'user 77 is offline');
[$stream, $status] = subscribe($port, '/ev/lobby?token=' . $client->grant(user: '77', channels: ['lobby']));
waitFor(fn() => $client->isOnline('77'), 'user 77 online');
check($client->presence('lobby') === ['77' => 1], 'presence on lobby: 77 with one connection');
fclose($stream);
waitFor(fn() => !$client->isOnline('77'), 'user 77 offline again');
check($client->presence('lobby') === [], 'presence on lobby: nobody');

stop();
echo "php client: all checks passed\n";
