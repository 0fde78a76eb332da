import Foundation

/// `herald.js`, the browser client kept beside this file, as every node serves it at `/herald.js`.
///
/// SwiftPM copies the file into the resource bundle next to the `herald` executable
/// (`Herald_HeraldClientScript.resources`); a deployment that copies the executable alone (an
/// image, a package) copies that folder with it.
public enum ClientScript {
    /// The file's bytes, read once; nil when the resource bundle is not beside the executable.
    public static let bytes: [UInt8]? = {
        let bundle = Bundle.main.bundleURL.appendingPathComponent("Herald_HeraldClientScript.resources")
        let file = bundle.appendingPathComponent("herald.js")
        return FileManager.default.contents(atPath: file.path).map { Array($0) }
    }()
}
