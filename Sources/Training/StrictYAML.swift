import Foundation
import Yams

/// An error in a YAML file the suite reads, with the file and (when known) the line.
public struct SpecError: Error, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String
    public init(file: String, line: Int?, message: String) { self.file = file; self.line = line; self.message = message }
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Decoding of the suite's YAML files (table specs, teacher settings) where every key must
/// be one the format knows: a misspelt key is an error with its line, never a silently
/// ignored setting. The decoded value is encoded again and the two trees compared.
public enum StrictYAML {
    /// Reads and strictly decodes the file at `path` (`what` names it in the error when it cannot be read).
    public static func load<T: Codable>(_ type: T.Type, from path: String, what: String) throws -> T {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpecError(file: path, line: nil, message: "cannot read \(what)")
        }
        return try decode(type, from: text, file: path)
    }

    public static func decode<T: Codable>(_ type: T.Type, from text: String, file: String) throws -> T {
        let value: T
        do {
            value = try YAMLDecoder().decode(T.self, from: text)
        } catch let e as YamlError {
            throw SpecError(file: file, line: yamlErrorLine(e), message: "not valid YAML: \(e)")
        } catch let e as DecodingError {
            // Yams reports a syntax error as corrupted data wrapping the parser's error.
            if case let .dataCorrupted(context) = e, let y = context.underlyingError as? YamlError {
                throw SpecError(file: file, line: yamlErrorLine(y), message: "not valid YAML: \(y)")
            }
            let (path, msg) = describe(e)
            throw SpecError(file: file, line: line(of: path, in: text), message: msg)
        }
        try rejectUnknownKeys(of: value, file: file, text: text)
        return value
    }

    static func yamlErrorLine(_ e: YamlError) -> Int? {
        switch e {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): return mark.line
        default: return nil
        }
    }

    static func rejectUnknownKeys<T: Encodable>(of value: T, file: String, text: String) throws {
        guard let root = try? Yams.compose(yaml: text),
              let encoded = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) else { return }
        func walk(_ node: Node, _ value: Any, _ path: String) throws {
            if let mapping = node.mapping {
                let object = value as? [String: Any] ?? [:]
                for (k, v) in mapping {
                    guard let key = k.string else { continue }
                    guard let sub = object[key] else {
                        let known = object.keys.sorted().joined(separator: ", ")
                        throw SpecError(file: file, line: k.mark.map { $0.line },
                                        message: "unknown key '\(key)'\(path.isEmpty ? "" : " in \(path)")\(known.isEmpty ? "" : " (known here: \(known); see tables/README.md)")")
                    }
                    try walk(v, sub, path.isEmpty ? key : path + "." + key)
                }
            } else if let seq = node.sequence, let array = value as? [Any] {
                for (i, item) in seq.enumerated() where i < array.count { try walk(item, array[i], "\(path).\(i)") }
            }
        }
        try walk(root, encoded, "")
    }

    public static func describe(_ e: DecodingError) -> ([CodingKey], String) {
        func keys(_ p: [CodingKey]) -> String { p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
        switch e {
        case let .keyNotFound(k, c): return (c.codingPath, "missing key '\(k.stringValue)' in \(keys(c.codingPath).isEmpty ? "the file" : keys(c.codingPath))")
        case let .typeMismatch(_, c): return (c.codingPath, "wrong type at \(keys(c.codingPath)): \(c.debugDescription)")
        case let .valueNotFound(_, c): return (c.codingPath, "missing value at \(keys(c.codingPath))")
        case let .dataCorrupted(c): return (c.codingPath, "invalid value at \(keys(c.codingPath)): \(c.debugDescription)")
        @unknown default: return ([], "\(e)")
        }
    }

    /// The line of the deepest node of `path` that exists.
    public static func line(of path: [CodingKey], in text: String) -> Int? {
        guard var node = try? Yams.compose(yaml: text) else { return nil }
        var line = node.mark?.line
        for key in path {
            if let i = key.intValue, let seq = node.sequence, i < seq.count { node = seq[i] }
            else if let m = node.mapping, let v = m[key.stringValue] { node = v }
            else { break }
            line = node.mark?.line ?? line
        }
        return line
    }

    /// The line of a top-level key.
    public static func line(ofTopLevelKey key: String, in text: String) -> Int? {
        guard let node = try? Yams.compose(yaml: text), let m = node.mapping else { return nil }
        return m.first(where: { $0.key.string == key })?.key.mark?.line
    }

    /// Finds `relativePath` in the current directory or an ancestor.
    public static func locate(_ relativePath: String) -> String? {
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        while true {
            let candidate = dir.appendingPathComponent(relativePath).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return nil }
            dir = parent
        }
    }
}
