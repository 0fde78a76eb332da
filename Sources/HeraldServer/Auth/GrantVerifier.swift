import Foundation
import HeraldCore
import JWTKit

/// The claims of a Herald grant, as signed (see ``Grant``). Times are checked by
/// ``Grant/authorize(_:now:userChannelPrefix:)`` against the node's clock, so each failure gets
/// its own reason; the signature is all jwt-kit verifies.
struct GrantClaims: JWTPayload, Equatable {
    var sub: String?
    var channels: [String]?
    var channelPrefixes: [String]?
    var exp: Double?
    var nbf: Double?
    var publish: [String]? = nil

    enum CodingKeys: String, CodingKey {
        case sub, channels, exp, nbf, publish
        case channelPrefixes = "channel_prefixes"
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}

    var grant: Grant {
        Grant(
            user: sub, channels: Set(channels ?? []), channelPrefixes: channelPrefixes ?? [],
            expires: exp.map { Int64($0.rounded(.down)) }, notBefore: nbf.map { Int64($0.rounded(.up)) },
            publish: publish ?? [])
    }
}

/// How grants are signed: a shared secret (HS256) or the public half of the site's key pair
/// (RS256 or ES256, from a PEM file).
public enum GrantKey: Sendable, Hashable {
    case secret([UInt8])
    case publicKeyPEM(String)

    /// The shortest HS256 secret accepted: 32 bytes, the size of its digest.
    public static let minimumSecretLength = 32
}

/// Verifies subscribers' grants. The key is parsed when the verifier is made, so a bad key stops
/// the node at start rather than refusing every subscriber.
final class GrantVerifier: Sendable {
    private let keys: Task<JWTKeyCollection, Never>

    /// - Throws: `GrantKeyError` for a secret that is too short or a PEM that holds no RSA or
    ///   P-256 public key.
    init(_ key: GrantKey) throws {
        switch key {
        case .secret(let secret):
            guard secret.count >= GrantKey.minimumSecretLength else { throw GrantKeyError.secretTooShort }
            let hmac = HMACKey(from: secret)
            keys = Task { await JWTKeyCollection().add(hmac: hmac, digestAlgorithm: .sha256) }
        case .publicKeyPEM(let pem):
            if let ecdsa = try? ES256PublicKey(pem: pem) {
                keys = Task { await JWTKeyCollection().add(ecdsa: ecdsa) }
            } else if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                keys = Task { await JWTKeyCollection().add(rsa: rsa, digestAlgorithm: .sha256) }
            } else {
                throw GrantKeyError.unreadablePublicKey
            }
        }
    }

    /// The grant `token` carries, if its signature verifies with the key.
    func grant(_ token: String) async -> Grant? {
        guard let claims = try? await keys.value.verify(token, as: GrantClaims.self) else { return nil }
        return claims.grant
    }
}

/// Why a grant key cannot be used.
public enum GrantKeyError: Error, CustomStringConvertible {
    case secretTooShort
    case unreadablePublicKey

    public var description: String {
        switch self {
        case .secretTooShort: "the grant secret must be at least \(GrantKey.minimumSecretLength) bytes"
        case .unreadablePublicKey: "the grant public key is not a PEM RSA or P-256 (ES256) public key"
        }
    }
}

/// Mints grants, as a site does when it renders a page (`herald token`, tests, examples).
public enum GrantSigner {
    /// A grant for `grant`'s user and channels, signed HS256 with `secret`.
    public static func sign(_ grant: Grant, secret: [UInt8]) async throws -> String {
        let claims = GrantClaims(
            sub: grant.user, channels: grant.channels.isEmpty ? nil : grant.channels.sorted(),
            channelPrefixes: grant.channelPrefixes.isEmpty ? nil : grant.channelPrefixes,
            exp: grant.expires.map(Double.init), nbf: grant.notBefore.map(Double.init),
            publish: grant.publish.isEmpty ? nil : grant.publish)
        let keys = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }
}
