import Foundation

/// Failures reading, writing or matching safetensors files, each naming the file and,
/// where there is one, the tensor.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case fileNotFound(path: String)
    case truncated(path: String, detail: String)
    case invalidHeader(path: String, detail: String)
    case invalidEntry(path: String, tensor: String, detail: String)
    case unsupportedDtype(path: String, tensor: String, dtype: String)
    case byteCountMismatch(path: String, tensor: String, dtype: String, shape: [Int], expected: Int, found: Int)
    case invalidLayout(path: String, detail: String)
    case invalidName(path: String, name: String)
    case tensorMismatch(path: String, problems: [String])
    case io(path: String, operation: String, detail: String)

    /// `tensorMismatch` lists at most this many problems, then how many more there are.
    public static let listedProblems = 12

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "\(path): file not found"
        case let .truncated(path, detail):
            return "\(path): safetensors file is truncated (\(detail))"
        case let .invalidHeader(path, detail):
            return "\(path): invalid safetensors header: \(detail)"
        case let .invalidEntry(path, tensor, detail):
            return "\(path): tensor \"\(tensor)\": \(detail)"
        case let .unsupportedDtype(path, tensor, dtype):
            let known = SafeTensors.knownDtypes.contains(dtype)
            return "\(path): tensor \"\(tensor)\" has \(known ? "" : "unknown ")dtype \"\(dtype)\""
                + (known ? ", which is not read" : "")
                + " (supported: \(SafeTensors.supportedDtypes.joined(separator: ", ")))"
        case let .byteCountMismatch(path, tensor, dtype, shape, expected, found):
            return "\(path): tensor \"\(tensor)\" of shape \(shape) and dtype \(dtype) needs \(expected) bytes, "
                + "its data_offsets span \(found)"
        case let .invalidLayout(path, detail):
            return "\(path): data regions do not tile the data buffer: \(detail)"
        case let .invalidName(path, name):
            return "\(path): tensor name \"\(name)\" cannot be stored (reserved for the header's metadata)"
        case let .tensorMismatch(path, problems):
            let shown = problems.prefix(Self.listedProblems).map { "  " + $0 }
            let more = problems.count > Self.listedProblems ? ["  ... and \(problems.count - Self.listedProblems) more"] : []
            return "\(path): tensors do not match the expected ones (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
                + (shown + more).joined(separator: "\n")
        case let .io(path, operation, detail):
            return "\(path): cannot \(operation) (\(detail))"
        }
    }

    public var errorDescription: String? { description }
}

/// The safetensors format (https://github.com/huggingface/safetensors):
///
///     8 bytes      N, the header length, UInt64 little-endian
///     N bytes      JSON object: name -> {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
///                  plus an optional "__metadata__": {string: string}; padded with spaces
///     rest         the data buffer; offsets count from its first byte, and the tensors'
///                  regions tile it exactly (no gaps, no overlaps, nothing after the last)
///
/// Reads F32, F16 and BF16 (little-endian) into Float; writes F32.
public enum SafeTensors {
    public static let supportedDtypes = ["F32", "F16", "BF16"]
    /// Every dtype the reference implementation knows, so that an unsupported one is told
    /// apart from a misspelt one.
    static let knownDtypes: Set<String> = [
        "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "E8M0",
        "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64",
    ]
    static let metadataKey = "__metadata__"

    private static func byteSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F32": return 4
        case "F16", "BF16": return 2
        default: return nil
        }
    }

    /// Integer and boolean dtypes: buffers and indices in timm checkpoints
    /// (BatchNorm's num_batches_tracked, Swin's relative_position_index), which a model
    /// recomputes rather than loads.
    static let integerByteSizes: [String: Int] = ["BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8]

    private struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    // MARK: Reading

    /// Reads every tensor (converted to Float) and the header's metadata; an integer tensor is an error.
    public static func read(path: String) throws -> (tensors: [String: NamedArray], metadata: [String: String]) {
        let r = try read(path: path, skippingIntegers: false)
        return (r.tensors, r.metadata)
    }

    /// Reads the floating-point tensors and lists the integer and boolean ones it skipped
    /// (name -> dtype), after checking their sizes like any other: a timm checkpoint's
    /// buffers and indices.
    public static func readSkippingIntegers(path: String) throws
        -> (tensors: [String: NamedArray], metadata: [String: String], skipped: [String: String]) {
        try read(path: path, skippingIntegers: true)
    }

    private static func read(path: String, skippingIntegers: Bool) throws
        -> (tensors: [String: NamedArray], metadata: [String: String], skipped: [String: String]) {
        guard FileManager.default.fileExists(atPath: path) else { throw SafeTensorsError.fileNotFound(path: path) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SafeTensorsError.io(path: path, operation: "read", detail: error.localizedDescription)
        }
        return try data.withUnsafeBytes { try read(bytes: $0, path: path, skippingIntegers: skippingIntegers) }
    }

    private static func read(bytes: UnsafeRawBufferPointer, path: String, skippingIntegers: Bool) throws
        -> (tensors: [String: NamedArray], metadata: [String: String], skipped: [String: String]) {
        guard bytes.count >= 8 else {
            throw SafeTensorsError.truncated(path: path, detail: "\(bytes.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafeTensorsError.truncated(path: path, detail: "header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let dataStart = 8 + Int(headerLength)
        let (entries, metadata) = try parseHeader(Data(bytes[8..<dataStart]), path: path)
        let bufferLength = bytes.count - dataStart

        for entry in entries {
            guard entry.end <= bufferLength else {
                throw SafeTensorsError.truncated(path: path, detail: "tensor \"\(entry.name)\" has data_offsets [\(entry.begin), \(entry.end)] "
                    + "beyond the \(bufferLength)-byte data buffer")
            }
            guard let size = byteSize(entry.dtype) ?? (skippingIntegers ? integerByteSizes[entry.dtype] : nil) else {
                throw SafeTensorsError.unsupportedDtype(path: path, tensor: entry.name, dtype: entry.dtype)
            }
            let count = try elementCount(entry.shape, path: path, tensor: entry.name)
            let (needed, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, needed == entry.end - entry.begin else {
                throw SafeTensorsError.byteCountMismatch(path: path, tensor: entry.name, dtype: entry.dtype, shape: entry.shape,
                                                         expected: overflow ? Int.max : needed, found: entry.end - entry.begin)
            }
        }
        try checkTiling(entries, bufferLength: bufferLength, path: path)

        var tensors = [String: NamedArray](), skipped = [String: String]()
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            if byteSize(entry.dtype) == nil { skipped[entry.name] = entry.dtype; continue }
            let region = UnsafeRawBufferPointer(rebasing: bytes[(dataStart + entry.begin)..<(dataStart + entry.end)])
            tensors[entry.name] = NamedArray(shape: entry.shape, values: decode(region, dtype: entry.dtype))
        }
        return (tensors, metadata, skipped)
    }

    private static func parseHeader(_ header: Data, path: String) throws -> ([Entry], [String: String]) {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: header, options: [.fragmentsAllowed])
        } catch {
            throw SafeTensorsError.invalidHeader(path: path, detail: "not valid JSON (\(error.localizedDescription))")
        }
        guard let object = json as? [String: Any] else {
            throw SafeTensorsError.invalidHeader(path: path, detail: "not a JSON object (found \(jsonKind(json)))")
        }
        var metadata = [String: String]()
        if let raw = object[metadataKey] {
            guard let dictionary = raw as? [String: Any] else {
                throw SafeTensorsError.invalidHeader(path: path, detail: "\"\(metadataKey)\" is \(jsonKind(raw)), not an object of strings")
            }
            for (key, value) in dictionary {
                guard let string = value as? String else {
                    throw SafeTensorsError.invalidHeader(path: path, detail: "\"\(metadataKey)\" value for \"\(key)\" is \(jsonKind(value)), not a string")
                }
                metadata[key] = string
            }
        }
        var entries = [Entry]()
        for name in object.keys.sorted() where name != metadataKey {
            func bad(_ detail: String) -> SafeTensorsError { .invalidEntry(path: path, tensor: name, detail: detail) }
            guard let info = object[name] as? [String: Any] else { throw bad("entry is \(jsonKind(object[name]!)), not an object") }
            for key in ["dtype", "shape", "data_offsets"] where info[key] == nil {
                throw bad("entry has no \"\(key)\"")
            }
            guard let dtype = info["dtype"] as? String else { throw bad("\"dtype\" is \(jsonKind(info["dtype"]!)), not a string") }
            guard let shape = integers(info["shape"]!), shape.allSatisfy({ $0 >= 0 }) else {
                throw bad("\"shape\" is not a list of non-negative integers")
            }
            guard let offsets = integers(info["data_offsets"]!), offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw bad("\"data_offsets\" is not [begin, end] with 0 <= begin <= end")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }
        return (entries, metadata)
    }

    /// A JSON array of integers. Numbers arrive as NSNumber: booleans are the ones of
    /// objCType "c" (`is Bool` holds for 0 and 1 too), fractions and values out of Int's
    /// range do not survive the round trip through Int.
    private static func integers(_ value: Any) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result = [Int]()
        for element in array {
            guard let number = element as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
            let int = number.intValue
            guard number.doubleValue == Double(int) else { return nil }
            result.append(int)
        }
        return result
    }

    private static func jsonKind(_ value: Any) -> String {
        switch value {
        case is [String: Any]: return "an object"
        case is [Any]: return "an array"
        case is String: return "a string"
        case is NSNull: return "null"
        case let number as NSNumber: return "the number \(number)"
        default: return "\(type(of: value))"
        }
    }

    private static func elementCount(_ shape: [Int], path: String, tensor: String) throws -> Int {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw SafeTensorsError.invalidEntry(path: path, tensor: tensor, detail: "shape \(shape) overflows") }
            count = product
        }
        return count
    }

    /// The regions, in offset order, must start at 0, each begin where the previous ended,
    /// and the last end at the end of the buffer.
    private static func checkTiling(_ entries: [Entry], bufferLength: Int, path: String) throws {
        let ordered = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        var previous: Entry?
        for entry in ordered {
            if entry.begin < position, let previous {
                throw SafeTensorsError.invalidLayout(path: path, detail: "tensor \"\(entry.name)\" [\(entry.begin), \(entry.end)] overlaps "
                    + "tensor \"\(previous.name)\" [\(previous.begin), \(previous.end)]")
            }
            if entry.begin > position {
                let after = previous.map { "after tensor \"\($0.name)\"" } ?? "at the start of the buffer"
                throw SafeTensorsError.invalidLayout(path: path, detail: "bytes [\(position), \(entry.begin)) \(after) belong to no tensor "
                    + "(tensor \"\(entry.name)\" begins at \(entry.begin))")
            }
            position = entry.end
            previous = entry
        }
        if position != bufferLength {
            let after = previous.map { "after the last tensor \"\($0.name)\"" } ?? "with no tensors"
            throw SafeTensorsError.invalidLayout(path: path, detail: "bytes [\(position), \(bufferLength)) \(after) belong to no tensor")
        }
    }

    private static func decode(_ region: UnsafeRawBufferPointer, dtype: String) -> [Float] {
        switch dtype {
        case "F32":
            let count = region.count / 4
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                #if _endian(little)
                if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: region) }
                #else
                for i in 0..<count {
                    buffer[i] = Float(bitPattern: UInt32(littleEndian: region.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
                #endif
                initialized = count
            }
        case "F16":
            return (0..<region.count / 2).map { floatFromHalf(UInt16(littleEndian: region.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        case "BF16":
            return (0..<region.count / 2).map {
                Float(bitPattern: UInt32(UInt16(littleEndian: region.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16)
            }
        default:
            preconditionFailure("dtype \(dtype) was checked as supported")
        }
    }

    /// IEEE binary16 bits -> Float, exactly (every half is a float): subnormals, signed
    /// zeros, infinities and NaN payloads included. Done by hand because Float16 is not
    /// available on every platform Swift targets (Intel macOS).
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign = UInt32(bits >> 15) << 31
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa * 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    // MARK: Writing

    /// Writes F32 tensors in name order with `metadata` as "__metadata__" (left out when
    /// empty), the header padded with spaces to a multiple of 8 bytes, as the reference
    /// implementation does. Atomic: `path` keeps its old content unless the whole new
    /// file was written (a temporary file in the same directory, renamed into place).
    public static func write(_ tensors: [String: NamedArray], metadata: [String: String] = [:], to path: String) throws {
        try write(tensors, metadata: metadata, to: path, interrupt: nil)
    }

    /// `interrupt` runs after the header is written (tests throw from it to simulate a
    /// failure midway).
    static func write(_ tensors: [String: NamedArray], metadata: [String: String], to path: String,
                      interrupt: (() throws -> Void)?) throws {
        if tensors[metadataKey] != nil { throw SafeTensorsError.invalidName(path: path, name: metadataKey) }
        let header = headerBytes(tensors, metadata: metadata)
        do {
            try AtomicWrite.write(to: path) { temporary in
                guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
                    throw SafeTensorsError.io(path: path, operation: "create \(temporary)", detail: String(cString: strerror(errno)))
                }
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
                defer { try? handle.close() }
                try handle.write(contentsOf: header)
                try interrupt?()
                for name in tensors.keys.sorted() {
                    let values = tensors[name]!.values
                    guard !values.isEmpty else { continue }
                    var littleEndian = Data(count: values.count * 4)
                    littleEndian.withUnsafeMutableBytes { out in
                        for (i, value) in values.enumerated() {
                            out.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                        }
                    }
                    try handle.write(contentsOf: littleEndian)
                }
            }
        } catch let error as SafeTensorsError {
            throw error
        } catch let StoreError.io(_, operation, detail) {
            throw SafeTensorsError.io(path: path, operation: operation, detail: detail)
        } catch {
            throw SafeTensorsError.io(path: path, operation: "write", detail: error.localizedDescription)
        }
    }

    /// The length prefix and the JSON header, laid out as the reference serializer does:
    /// compact, "__metadata__" first, then the tensors with keys dtype, shape, data_offsets.
    static func headerBytes(_ tensors: [String: NamedArray], metadata: [String: String]) -> Data {
        var parts = [String]()
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\(jsonString(metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for name in tensors.keys.sorted() {
            let array = tensors[name]!
            let end = offset + 4 * array.values.count
            let shape = array.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var json = Array("{\(parts.joined(separator: ","))}".utf8)
        json += [UInt8](repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: json)
        return data
    }

    private static func jsonString(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    // MARK: Matching

    /// Checks loaded tensors against the expected names and shapes; one error lists every
    /// missing tensor, unexpected tensor and shape mismatch (the description shows the
    /// first `SafeTensorsError.listedProblems`).
    public static func match(_ loaded: [String: NamedArray], expected: [(String, [Int])], path: String) throws {
        var problems = [String]()
        var expectedNames = Set<String>()
        for (name, shape) in expected {
            expectedNames.insert(name)
            guard let array = loaded[name] else {
                problems.append("missing tensor \"\(name)\" (expected shape \(shape))")
                continue
            }
            if array.shape != shape {
                problems.append("tensor \"\(name)\" has shape \(array.shape), expected \(shape)")
            }
        }
        for name in loaded.keys.sorted() where !expectedNames.contains(name) {
            problems.append("unexpected tensor \"\(name)\" (shape \(loaded[name]!.shape))")
        }
        if !problems.isEmpty { throw SafeTensorsError.tensorMismatch(path: path, problems: problems) }
    }
}
