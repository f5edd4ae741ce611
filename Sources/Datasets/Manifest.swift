import Foundation

/// A flat `key: value` YAML subset (comments with `#`, blank lines, optional quotes):
/// enough for data-manifests/ without pulling a YAML library into Data.
public struct FlatManifest: Sendable {
    public let path: String
    public let values: [String: String]

    public init(text: String, path: String) throws {
        var values = [String: String]()
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw DataError.manifest(path: path, reason: "line \(number + 1) is not `key: value`")
            }
            let key = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
            var value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard values[key] == nil else { throw DataError.manifest(path: path, reason: "key `\(key)` appears twice") }
            values[key] = value
        }
        self.values = values
        self.path = path
    }

    public init(contentsOf path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        do {
            try self.init(text: try String(contentsOfFile: path, encoding: .utf8), path: path)
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.unreadable(path: path, reason: error.localizedDescription)
        }
    }

    public func string(_ key: String) throws -> String {
        guard let v = values[key] else { throw DataError.manifest(path: path, reason: "missing key `\(key)`") }
        return v
    }

    public func int(_ key: String) throws -> Int {
        guard let v = Int(try string(key)) else { throw DataError.manifest(path: path, reason: "`\(key)` is not an integer") }
        return v
    }

    public func float(_ key: String) throws -> Float {
        guard let v = Float(try string(key)) else { throw DataError.manifest(path: path, reason: "`\(key)` is not a number") }
        return v
    }

    /// Finds `data-manifests/<name>` in `start` or its nearest ancestor (the package root
    /// when run from anywhere inside the repository).
    public static func locate(_ name: String, from start: String = FileManager.default.currentDirectoryPath) -> String? {
        var dir = URL(fileURLWithPath: start).standardizedFileURL
        while true {
            let candidate = dir.appendingPathComponent("data-manifests").appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return nil }
            dir = parent
        }
    }
}
