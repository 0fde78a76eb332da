import Foundation

/// The checkout the tests were built from, for tests that read its files or run its scripts.
public enum Repository {
    /// The repository's root folder: three levels above this file (`Tests/HeraldTesting/…`).
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// The file or folder at `path`, relative to the root (`docker/Dockerfile`, `cluster/up`).
    public static func file(_ path: String) -> URL {
        root.appendingPathComponent(path)
    }
}
