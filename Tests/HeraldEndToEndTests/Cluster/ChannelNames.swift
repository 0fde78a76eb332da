import Foundation
import HeraldTesting

/// Subscriber paths for the routing test: each one's path text (before percent-encoding) and the
/// channel that must decide the node — its first channel without a `.bN` backtrack.
struct RoutedPath: Sendable, CustomStringConvertible {
    var path: String
    var firstChannel: String

    var description: String { "\(path.debugDescription) (first channel \(firstChannel.debugDescription))" }

    /// The request path: each segment percent-encoded as `encodeURIComponent` does, or (`light`)
    /// with RFC 3986's other path characters `:@,;=+$&` left as they are.
    func requestPath(prefix: String, light: Bool = false) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        allowed.insert(charactersIn: light ? "-_.!~*'():@,;=+$&" : "-_.!~*'()")
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return "/\(prefix)/"
            + segments.map { $0.addingPercentEncoding(withAllowedCharacters: allowed)! }
            .joined(separator: "/")
    }
}

enum ChannelNames {
    static let words = [
        "news", "chat", "user", "room", "feed", "alerts", "scores", "orders", "ticker", "presence", "a", "Z9",
    ]
    static let unicode = [
        "café", "日本語", "новости", "Ωμέγα", "🎉party", "naïve", "東京-渋谷", "ß", "中文频道", "emoji😀",
    ]
    static let punctuation = ["-", ".", "_", "~", "!", "(", ")", "'", ":", ",", "@", "+", "=", ";", " ", "%", "&"]

    /// `count` distinct paths, deterministic: plain, dotted, dashed, unicode, punctuation,
    /// `.bN` suffixes, and multi-channel paths (whose first channel decides).
    static func paths(count: Int) -> [RoutedPath] {
        var generator = SplitMix(seed: 0x5EED)
        var seen = Set<String>()
        var paths: [RoutedPath] = []
        while paths.count < count {
            let first = channel(&generator, index: paths.count)
            var path = first
            switch generator.next() % 6 {
            case 0: path += ".b\(generator.next() % 20)"
            case 1: path += "/" + channel(&generator, index: paths.count + 1)
            case 2:
                path += ".b3/" + channel(&generator, index: paths.count + 2) + ".b1/" + channel(&generator, index: 7)
            default: break
            }
            guard seen.insert(path).inserted else { continue }
            paths.append(RoutedPath(path: path, firstChannel: first))
        }
        return paths
    }

    /// One channel id: a mix of the kinds above, never empty, never `ALL`, no `*`, no `/`, and
    /// never ending in `.b<digits>` (that would be a backtrack, not part of the id).
    static func channel(_ generator: inout SplitMix, index: Int) -> String {
        func pick<T>(_ array: [T]) -> T { array[Int(generator.next() % UInt64(array.count))] }
        var name: String
        switch generator.next() % 8 {
        case 0: name = "\(pick(words))-\(index)"
        case 1: name = "\(pick(words)).\(pick(words)).\(index)"
        case 2: name = "\(pick(unicode))\(index)"
        case 3: name = "\(pick(words))\(pick(punctuation))\(pick(unicode))\(pick(punctuation))\(index)"
        case 4: name = "v\(index).\(generator.next() % 100).b"  // a dot and a b, but no backtrack
        case 5: name = "\(pick(words)).b3x\(index)"
        case 6: name = String(repeating: pick(words), count: 1 + Int(generator.next() % 12)) + "_\(index)"
        default: name = "\(index)"
        }
        return name
    }
}
