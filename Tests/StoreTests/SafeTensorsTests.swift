import XCTest
@testable import Store

final class SafeTensorsTests: XCTestCase {
    var directory: String!

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "safetensors-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func sample() -> [String: NamedArray] {
        [
            "stem.conv.weight": NamedArray(shape: [2, 1, 2, 2], values: [0.5, -1.25, 2, 3, 4, 5, 6, 7.75]),
            "head.bias": NamedArray(shape: [3], values: [-0.0, .infinity, -Float.greatestFiniteMagnitude]),
            "scale": NamedArray(shape: [], values: [Float.leastNonzeroMagnitude]),
            "empty": NamedArray(shape: [0, 4], values: []),
            "名前 \"quoted\"\n": NamedArray(shape: [1], values: [1]),
        ]
    }

    // MARK: Helpers

    /// A safetensors file from a header string and raw data bytes; `headerLength`
    /// overrides the stored length (to fake truncation).
    func writeFile(_ name: String, header: String, data: [UInt8] = [], headerLength: UInt64? = nil) throws -> String {
        let json = Array(header.utf8)
        var bytes = [UInt8]()
        withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian) { bytes += $0 }
        bytes += json + data
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func littleEndian(_ halves: [UInt16]) -> [UInt8] {
        halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    /// Reading `path` fails with an error matching `expected` whose message names the
    /// file and contains each of `mentions` (tensor names, dtypes, ...).
    func assertReadFails(_ path: String, mentions: [String] = [], _ expected: (SafeTensorsError) -> Bool,
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.read(path: path), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else { return XCTFail("not a SafeTensorsError: \(error)", file: file, line: line) }
            XCTAssertTrue(expected(e), "unexpected: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(path + ": "), "error names the file: \(e)", file: file, line: line)
            for text in mentions {
                XCTAssertTrue(e.description.contains(text), "error mentions \(text): \(e)", file: file, line: line)
            }
        }
    }

    func bitPatterns(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    // MARK: Round trip and layout

    func testRoundTrip() throws {
        let path = directory + "/model.safetensors"
        try SafeTensors.write(sample(), metadata: ["format": "pt", "config": #"{"lr": 0.001}"#], to: path)
        let (tensors, metadata) = try SafeTensors.read(path: path)
        XCTAssertEqual(Set(tensors.keys), Set(sample().keys))
        for (name, array) in sample() {
            XCTAssertEqual(tensors[name]?.shape, array.shape, name)
            XCTAssertEqual(tensors[name].map { bitPatterns($0.values) }, bitPatterns(array.values), name)
        }
        XCTAssertEqual(metadata, ["format": "pt", "config": #"{"lr": 0.001}"#])

        // NaN survives with its payload.
        let nan = Float(bitPattern: 0x7FC0_1234)
        try SafeTensors.write(["x": NamedArray(shape: [2], values: [nan, 1])], to: path)
        let again = try SafeTensors.read(path: path)
        XCTAssertEqual(bitPatterns(again.tensors["x"]!.values), [0x7FC0_1234, Float(1).bitPattern])
        XCTAssertEqual(again.metadata, [:])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["model.safetensors"], "no temporary files left")
    }

    func testHeaderLayout() throws {
        let path = directory + "/model.safetensors"
        try SafeTensors.write(["b": NamedArray(shape: [3], values: [1, 2, 3]), "a": NamedArray(shape: [1, 1], values: [4])],
                              metadata: ["k": "v"], to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual(n % 8, 0, "header padded to a multiple of 8")
        XCTAssertEqual(bytes.count, 8 + n + 16)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let json = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"#
            + #""b":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}}"#
        XCTAssertEqual(header, json + String(repeating: " ", count: n - json.utf8.count))
        XCTAssertLessThan(n - json.utf8.count, 8)
        // Data in name order, little-endian.
        XCTAssertEqual(Array(bytes[(8 + n)...]), [0, 0, 0x80, 0x40, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40])
    }

    // MARK: Files written by the reference implementation (tools/make_safetensors_fixtures.py)

    func testWriterReproducesReferenceBytes() throws {
        let reference = try Data(contentsOf: Self.fixtures.appendingPathComponent("reference_f32.safetensors"))
        let path = directory + "/ours.safetensors"
        try SafeTensors.write([
            "stem.weight": NamedArray(shape: [2, 2], values: [0.5, -1.25, 3.0, 1e-3]),
            "head.bias": NamedArray(shape: [3], values: [-0.0, 65504.0, 1e-30]),
            "scalar": NamedArray(shape: [], values: [7]),
        ], metadata: ["format": "pt"], to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), reference)
    }

    func testReadsReferenceFile() throws {
        let path = Self.fixtures.appendingPathComponent("reference_mixed.safetensors").path
        // The reference puts "__metadata__" first and orders data by dtype size, then name.
        let header = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)).prefix(40), as: UTF8.self)
        XCTAssertTrue(header.contains(#"{"__metadata__":{"#), header)

        let (tensors, metadata) = try SafeTensors.read(path: path)
        XCTAssertEqual(metadata, ["format": "pt", "source": "tools/make_safetensors_fixtures.py"])
        XCTAssertEqual(tensors["blocks.0.weight"], NamedArray(shape: [2, 3], values: [0.5, -1.25, 3.0, 1e-3, -0.0, 123456.0]))
        XCTAssertEqual(tensors["blocks.0.weight"]?.values[4].sign, .minus)
        XCTAssertEqual(tensors["blocks.0.bias"],
                       NamedArray(shape: [2, 3], values: [1, -2.5, 0x1p-24, 0x3p-16, 65504, .infinity]))
        XCTAssertEqual(tensors["a.bf16"], NamedArray(shape: [5], values: [1, -3.140625, 0.0078125, 0x1.FEp127, -.infinity]))
        XCTAssertEqual(tensors["scalar"], NamedArray(shape: [], values: [7]))
        XCTAssertEqual(tensors["empty"], NamedArray(shape: [0, 3], values: []))
        XCTAssertEqual(tensors.count, 5)
    }

    // MARK: Hand-built F16 and BF16

    func testReadsF16() throws {
        let halves: [UInt16: Float] = [
            0x3C00: 1, 0xC100: -2.5, 0x3555: 0x1.554p-2,
            0x0001: 0x1p-24, 0x8001: -0x1p-24, 0x03FF: 0x3FFp-24,  // subnormals
            0x0400: 0x1p-14, 0x7BFF: 65504, 0xFBFF: -65504,
            0x7C00: .infinity, 0xFC00: -.infinity, 0x0000: 0,
        ]
        let order = halves.keys.sorted() + [0x8000, 0x7E00, 0xFE01]  // -0, quiet NaN, negative NaN with payload
        let path = try writeFile("f16.safetensors",
                                 header: #"{"h":{"dtype":"F16","shape":[3,5],"data_offsets":[0,30]}}"#,
                                 data: littleEndian(order))
        let values = try SafeTensors.read(path: path).tensors["h"]!
        XCTAssertEqual(values.shape, [3, 5])
        for (i, bits) in order.prefix(halves.count).enumerated() {
            XCTAssertEqual(values.values[i], halves[bits], String(bits, radix: 16))
        }
        XCTAssertEqual(values.values[12].bitPattern, 0x8000_0000)
        XCTAssertTrue(values.values[13].isNaN)
        XCTAssertEqual(values.values[14].bitPattern, 0xFFC0_2000, "sign and payload kept")
    }

    #if !(os(macOS) && arch(x86_64))
    func testF16ConversionMatchesFloat16ForEveryBitPattern() {
        for bits in 0...UInt16.max {
            let ours = SafeTensors.floatFromHalf(bits)
            let system = Float(Float16(bitPattern: bits))
            if system.isNaN {
                XCTAssertTrue(ours.isNaN, String(bits, radix: 16))
            } else {
                XCTAssertEqual(ours.bitPattern, system.bitPattern, String(bits, radix: 16))
            }
        }
    }
    #endif

    func testReadsBF16() throws {
        let order: [UInt16] = [0x3F80, 0xC049, 0x0001, 0x8000, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0]
        let path = try writeFile("bf16.safetensors",
                                 header: #"{"b":{"dtype":"BF16","shape":[8],"data_offsets":[0,16]}}"#,
                                 data: littleEndian(order))
        let values = try SafeTensors.read(path: path).tensors["b"]!.values
        XCTAssertEqual(Array(values[0..<7]), [1, -3.140625, 0x1p-133, -0.0, 0x1.FEp127, .infinity, -.infinity])
        XCTAssertEqual(values[3].sign, .minus)
        XCTAssertTrue(values[7].isNaN)
    }

    func testReadsMixedDtypesOutOfNameOrderWithPaddedHeader() throws {
        // Data order differs from name order; trailing spaces pad the header.
        let header = #"{"z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}"#
        let path = try writeFile("mixed.safetensors", header: header + "     ",
                                 data: [0, 0, 0x40, 0xC0] + littleEndian([0x3800, 0xBC00]))
        let tensors = try SafeTensors.read(path: path).tensors
        XCTAssertEqual(tensors, ["z": NamedArray(shape: [1], values: [-3]), "a": NamedArray(shape: [2], values: [0.5, -1])])
    }

    // MARK: Errors

    func testMissingFile() {
        let path = directory + "/absent.safetensors"
        assertReadFails(path) { $0 == .fileNotFound(path: path) }
    }

    func testShorterThanHeaderLength() throws {
        let path = directory + "/short.safetensors"
        try Data([1, 0, 0]).write(to: URL(fileURLWithPath: path))
        assertReadFails(path, mentions: ["3 bytes"]) { if case .truncated = $0 { return true } else { return false } }
        try Data().write(to: URL(fileURLWithPath: path))
        assertReadFails(path, mentions: ["0 bytes"]) { if case .truncated = $0 { return true } else { return false } }
    }

    func testHeaderLengthBeyondFile() throws {
        let path = try writeFile("cut.safetensors", header: #"{"a":{"dtype":"F32","#, headerLength: 200)
        assertReadFails(path, mentions: ["header length 200"]) { if case .truncated = $0 { return true } else { return false } }
        // A huge length (garbage in the first 8 bytes) must not overflow.
        let garbage = try writeFile("garbage.safetensors", header: "{}", headerLength: UInt64.max)
        assertReadFails(garbage) { if case .truncated = $0 { return true } else { return false } }
    }

    func testDataOffsetsBeyondFile() throws {
        // A download cut short inside the data: the last tensor's region runs past the end.
        let path = directory + "/model.safetensors"
        try SafeTensors.write(sample(), to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.dropLast(3).write(to: URL(fileURLWithPath: path))
        let last = sample().keys.sorted().last!
        assertReadFails(path, mentions: ["\"\(last)\"", "beyond"]) { if case .truncated = $0 { return true } else { return false } }
    }

    func testHeaderNotJSON() throws {
        let path = try writeFile("bad.safetensors", header: #"{"a": {"dtype": "F32", "#)
        assertReadFails(path, mentions: ["not valid JSON"]) { if case .invalidHeader = $0 { return true } else { return false } }
        let nonUTF8 = directory + "/binary.safetensors"
        try Data([4, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFE, 0x00, 0x7B]).write(to: URL(fileURLWithPath: nonUTF8))
        assertReadFails(nonUTF8) { if case .invalidHeader = $0 { return true } else { return false } }
    }

    func testHeaderNotAnObject() throws {
        let array = try writeFile("array.safetensors", header: "[1, 2]")
        assertReadFails(array, mentions: ["not a JSON object", "array"]) { if case .invalidHeader = $0 { return true } else { return false } }
        let number = try writeFile("number.safetensors", header: "42")
        assertReadFails(number, mentions: ["not a JSON object"]) { if case .invalidHeader = $0 { return true } else { return false } }
        let metadata = try writeFile("meta.safetensors", header: #"{"__metadata__":{"epoch":3}}"#)
        assertReadFails(metadata, mentions: ["__metadata__", "epoch", "not a string"]) {
            if case .invalidHeader = $0 { return true } else { return false }
        }
    }

    func testEntryMissingFields() throws {
        let entries = [
            "dtype": #"{"shape":[1],"data_offsets":[0,4]}"#,
            "shape": #"{"dtype":"F32","data_offsets":[0,4]}"#,
            "data_offsets": #"{"dtype":"F32","shape":[1]}"#,
        ]
        for (field, entry) in entries {
            let path = try writeFile("no-\(field).safetensors", header: #"{"blocks.0.w":"# + entry + "}", data: [0, 0, 0, 0])
            assertReadFails(path, mentions: ["\"blocks.0.w\"", "no \"\(field)\""]) {
                $0 == .invalidEntry(path: path, tensor: "blocks.0.w", detail: "entry has no \"\(field)\"")
            }
        }
        let malformed = [
            #"{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}"#,
            #"{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}"#,
            #"{"dtype":"F32","shape":[true],"data_offsets":[0,4]}"#,
            #"{"dtype":"F32","shape":"1","data_offsets":[0,4]}"#,
            #"{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}"#,  // element count overflows
            #"{"dtype":"F32","shape":[1],"data_offsets":[4,0]}"#,
            #"{"dtype":"F32","shape":[1],"data_offsets":[0]}"#,
            #"{"dtype":7,"shape":[1],"data_offsets":[0,4]}"#,
            #""F32""#,
        ]
        for (i, entry) in malformed.enumerated() {
            let path = try writeFile("malformed-\(i).safetensors", header: #"{"w":"# + entry + "}", data: [0, 0, 0, 0])
            assertReadFails(path, mentions: ["\"w\""]) { if case .invalidEntry(_, "w", _) = $0 { return true } else { return false } }
        }
    }

    func testUnknownAndUnsupportedDtypes() throws {
        let unknown = try writeFile("q7.safetensors", header: #"{"w":{"dtype":"Q7","shape":[4],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        assertReadFails(unknown, mentions: ["\"w\"", "unknown dtype \"Q7\"", "supported: F32, F16, BF16"]) {
            $0 == .unsupportedDtype(path: unknown, tensor: "w", dtype: "Q7")
        }
        let int64 = try writeFile("i64.safetensors",
                                  header: #"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#,
                                  data: [UInt8](repeating: 0, count: 8))
        assertReadFails(int64, mentions: ["\"bn.num_batches_tracked\"", "dtype \"I64\", which is not read", "supported: F32, F16, BF16"]) {
            $0 == .unsupportedDtype(path: int64, tensor: "bn.num_batches_tracked", dtype: "I64")
        }
    }

    /// timm checkpoints hold integer buffers beside the weights: the skipping reader returns
    /// the floats, lists the integers, and still checks their sizes.
    func testSkippingIntegerTensors() throws {
        let header = #"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"#
            + #""bn.weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"#
            + #""attn.relative_position_index":{"dtype":"I32","shape":[2,2],"data_offsets":[16,32]}}"#
        let values: [Float] = [1.5, -2]
        let path = try writeFile("timm.safetensors", header: header,
                                 data: [UInt8](repeating: 0, count: 8) + values.withUnsafeBytes { [UInt8]($0) } + [UInt8](repeating: 0, count: 16))
        let r = try SafeTensors.readSkippingIntegers(path: path)
        XCTAssertEqual(r.tensors, ["bn.weight": NamedArray(shape: [2], values: values)])
        XCTAssertEqual(r.skipped, ["bn.num_batches_tracked": "I64", "attn.relative_position_index": "I32"])
        let short = try writeFile("short.safetensors", header: #"{"idx":{"dtype":"I64","shape":[2],"data_offsets":[0,8]}}"#,
                                  data: [UInt8](repeating: 0, count: 8))
        XCTAssertThrowsError(try SafeTensors.readSkippingIntegers(path: short)) { error in
            XCTAssertTrue("\(error)".contains("\"idx\""), "\(error)")
        }
    }

    func testByteCountNotMatchingShape() throws {
        let path = try writeFile("count.safetensors",
                                 header: #"{"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))
        assertReadFails(path, mentions: ["\"w\"", "[2, 3]", "F16", "needs 12 bytes", "span 8"]) {
            $0 == .byteCountMismatch(path: path, tensor: "w", dtype: "F16", shape: [2, 3], expected: 12, found: 8)
        }
    }

    func testOverlappingRegions() throws {
        let path = try writeFile("overlap.safetensors", header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: [UInt8](repeating: 0, count: 12))
        assertReadFails(path, mentions: ["\"a\"", "\"b\"", "overlaps"]) { if case .invalidLayout = $0 { return true } else { return false } }
        // Two tensors sharing one region also overlap.
        let shared = try writeFile("shared.safetensors", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
            + #""b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        assertReadFails(shared, mentions: ["overlaps"]) { if case .invalidLayout = $0 { return true } else { return false } }
    }

    func testNonContiguousRegions() throws {
        let gap = try writeFile("gap.safetensors", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
            + #""b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: [UInt8](repeating: 0, count: 12))
        assertReadFails(gap, mentions: ["bytes [4, 8)", "after tensor \"a\"", "\"b\""]) { if case .invalidLayout = $0 { return true } else { return false } }
        let start = try writeFile("start.safetensors", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                  data: [UInt8](repeating: 0, count: 8))
        assertReadFails(start, mentions: ["bytes [0, 4)", "start"]) { if case .invalidLayout = $0 { return true } else { return false } }
        let trailing = try writeFile("trailing.safetensors", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                                     data: [UInt8](repeating: 0, count: 6))
        assertReadFails(trailing, mentions: ["bytes [4, 6)", "\"a\""]) { if case .invalidLayout = $0 { return true } else { return false } }
    }

    // MARK: Writing failures

    func testInterruptedWriteKeepsTheOldFile() throws {
        struct Crash: Error {}
        let path = directory + "/model.safetensors"
        try SafeTensors.write(sample(), to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensors.write(["x": NamedArray(shape: [1], values: [1])], metadata: [:], to: path,
                                                   interrupt: { throw Crash() })) {
            guard case .io(path, _, _)? = $0 as? SafeTensorsError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["model.safetensors"], "temporary file removed")
    }

    func testWriteIntoMissingDirectory() {
        let path = directory + "/no/such/dir/model.safetensors"
        XCTAssertThrowsError(try SafeTensors.write(sample(), to: path)) {
            guard case .io(path, _, _)? = $0 as? SafeTensorsError else { return XCTFail("\($0)") }
            XCTAssertTrue("\($0)".hasPrefix(path), "\($0)")
        }
    }

    func testMetadataKeyAsTensorNameIsRejected() {
        let path = directory + "/model.safetensors"
        XCTAssertThrowsError(try SafeTensors.write(["__metadata__": NamedArray(shape: [1], values: [1])], to: path)) {
            XCTAssertEqual($0 as? SafeTensorsError, .invalidName(path: path, name: "__metadata__"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    // MARK: Matching against a model

    func testMatch() throws {
        let loaded = sample()
        let expected = loaded.map { ($0.key, $0.value.shape) }
        XCTAssertNoThrow(try SafeTensors.match(loaded, expected: expected, path: "model.safetensors"))

        var wrong = expected.filter { $0.0 != "head.bias" && $0.0 != "scale" }
        wrong.append(("stem.conv.weight", [2, 1, 3, 3]))
        wrong.removeAll { $0.0 == "stem.conv.weight" && $0.1 == [2, 1, 2, 2] }
        wrong.append(("head.weight", [10, 4]))
        XCTAssertThrowsError(try SafeTensors.match(loaded, expected: wrong, path: "model.safetensors")) {
            guard case let .tensorMismatch("model.safetensors", problems)? = $0 as? SafeTensorsError else { return XCTFail("\($0)") }
            XCTAssertEqual(problems, [
                "tensor \"stem.conv.weight\" has shape [2, 1, 2, 2], expected [2, 1, 3, 3]",
                "missing tensor \"head.weight\" (expected shape [10, 4])",
                "unexpected tensor \"head.bias\" (shape [3])",
                "unexpected tensor \"scale\" (shape [])",
            ])
            let text = "\($0)"
            XCTAssertTrue(text.hasPrefix("model.safetensors: tensors do not match the expected ones (4 problems):\n"), text)
            XCTAssertEqual(text.split(separator: "\n").count, 5, text)
        }
    }

    func testMatchCapsTheListing() {
        let expected = (0..<40).map { ("blocks.\($0).weight", [4, 4]) }
        XCTAssertThrowsError(try SafeTensors.match([:], expected: expected, path: "empty.safetensors")) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("(40 problems)"), text)
            XCTAssertTrue(text.contains("blocks.0.weight") && text.contains("blocks.11.weight"), text)
            XCTAssertFalse(text.contains("blocks.12.weight"), text)
            XCTAssertTrue(text.hasSuffix("... and 28 more"), text)
        }
    }
}
