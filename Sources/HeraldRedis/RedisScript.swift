import Crypto
import NIOCore

/// A Lua script for `EVALSHA`, with the SHA-1 digest Redis caches it under.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The lowercase hex SHA-1 of ``source``: the name Redis caches the script under.
    public let sha1: String

    /// A script from its Lua source; the digest is computed here.
    public init(_ source: String) {
        self.source = source
        let digest = Insecure.SHA1.hash(data: Array(source.utf8))
        var hex = ""
        hex.reserveCapacity(40)
        for byte in digest {
            let text = String(byte, radix: 16)
            if text.count == 1 {
                hex += "0"
            }
            hex += text
        }
        self.sha1 = hex
    }
}

extension RedisCommandExecutor {
    /// Runs a script by digest (`EVALSHA`); if Redis does not have it cached (`NOSCRIPT`), sends the source
    /// (`EVAL`), which also caches it for the next call.
    ///
    /// Concurrent calls that hit `NOSCRIPT` each fall back on their own, so their relative order is not kept;
    /// chain calls whose order matters.
    /// - Parameters:
    ///   - script: The script.
    ///   - keys: The keys (`KEYS[1]`…); in Redis Cluster, they must hash to one slot.
    ///   - arguments: The other arguments (`ARGV[1]`…).
    /// - Returns: The script's reply; a script error fails the future with ``RedisError/server(_:)``.
    public func evalScript(
        _ script: RedisScript,
        keys: [RedisArgument] = [],
        arguments: [RedisArgument] = []
    ) -> EventLoopFuture<RESPValue> {
        evalScript(script, keys: keys, arguments: arguments) { $0 }
    }

    /// ``evalScript(_:keys:arguments:)``, with the reply turned into what the caller needs on the
    /// way: one promise does the `NOSCRIPT` fallback and the decoding, where a `flatMapError` and
    /// a `flatMapThrowing` made two, with a closure each, on every script call of a connect and a
    /// publish.
    /// - Parameter decode: Turns the script's reply into the result; what it throws fails the future.
    public func evalScript<Result: Sendable>(
        _ script: RedisScript,
        keys: [RedisArgument] = [],
        arguments: [RedisArgument] = [],
        decode: @escaping @Sendable (RESPValue) throws -> Result
    ) -> EventLoopFuture<Result> {
        // One array, made at its final size: joining the parts with `+` made four.
        var command: [RedisArgument] = []
        command.reserveCapacity(3 + keys.count + arguments.count)
        command.append("EVALSHA")
        command.append(RedisArgument(script.sha1))
        command.append(RedisArgument(keys.count))
        command += keys
        command += arguments
        let evalsha = self.send(command)
        let answer = evalsha.eventLoop.makePromise(of: Result.self)
        evalsha.whenComplete { [command] outcome in
            switch outcome {
            case .success(let reply):
                answer.completeWith(Swift.Result { try decode(reply) })
            case .failure(let error):
                guard let redisError = error as? RedisError, redisError.isNoScript else { return answer.fail(error) }
                var eval = command
                eval[0] = "EVAL"
                eval[1] = RedisArgument(script.source)
                self.send(eval).whenComplete { retried in
                    answer.completeWith(retried.flatMap { reply in Swift.Result { try decode(reply) } })
                }
            }
        }
        return answer.futureResult
    }

    /// Loads a script into Redis's cache (`SCRIPT LOAD`); the future gets the digest Redis reports.
    public func scriptLoad(_ script: RedisScript) -> EventLoopFuture<String> {
        self.send(["SCRIPT", "LOAD", RedisArgument(script.source)]).flatMapThrowing { reply in
            guard let digest = reply.string else {
                throw RedisError.protocolViolation("SCRIPT LOAD answered \(reply)")
            }
            return digest
        }
    }
}
