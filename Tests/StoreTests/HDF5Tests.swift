import CHDF5
import XCTest
@testable import Store

final class HDF5Tests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "store-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func testDatasetsOfEachTypeRoundTrip() throws {
        let path = directory + "/types.h5"
        do {
            let file = try HDF5File.create(path)
            let root = try file.root()
            let params = try root.createGroup("params")
            try params.write("stages.2.blocks.0.attn.qkv.weight", shape: [2, 3], values: [Float](arrayLiteral: 1, 2, 3, 4, 5, 6.5))
            try root.write("ints", shape: [3], values: [Int64(-1), 0, Int64.max])
            try root.write("bytes", shape: [2, 2], values: [UInt8(0), 1, 254, 255])
            try root.write("scalar", shape: [], values: [Float(3.25)])
            try root.write("empty", shape: [0, 4], values: [Float]())
            let big = (0..<4000).map { Float($0 % 17) }
            try root.write("compressed", shape: [40, 100], values: big, chunks: [8, 100], compression: 6)
            try root.setAttribute("json", string: "{\"lr\": 0.001, \"name\": \"caf\u{e9}\"}")
            try root.setAttribute("count", int: 42)
            try root.setAttribute("rate", double: 0.5)
            try root.setAttribute("pair", values: [Int64(3), 4])
            try file.close()
        }
        let file = try HDF5File.open(path)
        let root = try file.root()
        let params = try root.openGroup("params")
        XCTAssertEqual(try params.childNames(), ["stages.2.blocks.0.attn.qkv.weight"])
        let w = try params.read("stages.2.blocks.0.attn.qkv.weight", as: Float.self)
        XCTAssertEqual(w.shape, [2, 3])
        XCTAssertEqual(w.values, [1, 2, 3, 4, 5, 6.5])
        XCTAssertEqual(try root.read("ints", as: Int64.self).values, [-1, 0, Int64.max])
        XCTAssertEqual(try root.read("bytes", as: UInt8.self).values, [0, 1, 254, 255])
        let scalar = try root.read("scalar", as: Float.self)
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [3.25])
        XCTAssertEqual(try root.read("empty", as: Float.self).shape, [0, 4])
        XCTAssertEqual(try root.read("compressed", as: Float.self).values, (0..<4000).map { Float($0 % 17) })
        XCTAssertEqual(try root.read("compressed", as: Double.self).values.first, 0)  // float64 conversion
        XCTAssertEqual(try root.stringAttribute("json"), "{\"lr\": 0.001, \"name\": \"caf\u{e9}\"}")
        XCTAssertEqual(try root.intAttribute("count"), 42)
        XCTAssertEqual(try root.doubleAttribute("rate"), 0.5)
        XCTAssertEqual(try root.attribute("pair", as: Int64.self), [3, 4])
        XCTAssertEqual(Set(try root.childNames()), ["params", "ints", "bytes", "scalar", "empty", "compressed"])
        XCTAssertTrue(root.contains("params"))
        XCTAssertFalse(root.contains("nope"))
    }

    func testErrorsAreSwiftErrorsNotCrashes() throws {
        let file = try HDF5File.create(directory + "/e.h5")
        let root = try file.root()
        try root.write("x", shape: [2], values: [Float(1), 2])
        XCTAssertThrowsError(try root.read("missing", as: Float.self)) {
            XCTAssertEqual($0 as? StoreError, .missing(path: self.directory + "/e.h5", object: "/missing"))
        }
        XCTAssertThrowsError(try root.read("x", as: Int64.self)) {
            guard case .typeMismatch(_, "/x", "int64", "float")? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try root.write("x", shape: [2], values: [Float(1), 2])) { error in
            guard case let .hdf5(_, operation, object, detail)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(operation, "create dataset")
            XCTAssertEqual(object, "/x")
            XCTAssertFalse(detail.isEmpty, "the HDF5 error stack text is kept")
        }
        XCTAssertThrowsError(try root.write("y", shape: [3], values: [Float(1), 2]))
        XCTAssertThrowsError(try root.openGroup("nope"))
        XCTAssertThrowsError(try HDF5File.open(directory + "/absent.h5")) {
            XCTAssertEqual($0 as? StoreError, .fileNotFound(path: self.directory + "/absent.h5"))
        }
    }

    func testAppendableDatasetAndRowReads() throws {
        let file = try HDF5File.create(directory + "/a.h5")
        let root = try file.root()
        try root.createAppendable("f", as: Float.self, rowShape: [2, 3], chunkRows: 4, compression: 4)
        for batch in 0..<3 {
            try root.append("f", values: (0..<(5 * 6)).map { Float(batch * 100 + $0) })
        }
        XCTAssertEqual(try root.shape(of: "f"), [15, 2, 3])
        let rows = try root.readRows("f", rows: 4..<7, as: Float.self)
        XCTAssertEqual(rows.shape, [3, 2, 3])
        XCTAssertEqual(rows.values.first, 24)
        XCTAssertEqual(rows.values[6], 100)
        XCTAssertThrowsError(try root.append("f", values: [Float(1)]))
        XCTAssertThrowsError(try root.readRows("f", rows: 14..<16, as: Float.self))
    }

    func testLargeStringAttribute() throws {
        // Configs can exceed HDF5's 64 KB compact attribute limit.
        let text = String(repeating: "{\"k\": 1234567890}", count: 6000)
        let file = try HDF5File.create(directory + "/big.h5")
        try file.root().setAttribute("config", string: text)
        try file.close()
        XCTAssertEqual(try HDF5File.open(directory + "/big.h5").root().stringAttribute("config"), text)
    }

    func testReadsVariableLengthStringsAndFloat64AsH5pyWritesThem() throws {
        // h5py (used by tools/ to write golden fixtures) stores str attributes as
        // variable-length UTF-8 strings and numpy float64 arrays as float64.
        let path = directory + "/h5py-style.h5"
        let file = try HDF5File.create(path)
        let root = try file.root()
        try root.write("x", shape: [2, 3], values: (0..<6).map(Double.init))
        HDF5Library.locked {
            let type = H5Tcopy(H5T_C_S1_g)
            _ = H5Tset_size(type, -1)
            _ = H5Tset_cset(type, H5T_CSET_UTF8)
            let space = H5Screate(H5S_SCALAR)
            let attr = H5Acreate2(root.id, "config", type, space, 0, 0)
            XCTAssertGreaterThanOrEqual(attr, 0)
            "{\"a\": 1}".withCString { cString in
                var pointer: UnsafePointer<CChar>? = cString
                XCTAssertGreaterThanOrEqual(H5Awrite(attr, type, &pointer), 0)
            }
            _ = H5Aclose(attr)
            _ = H5Sclose(space)
            _ = H5Tclose(type)
        }
        try file.close()
        let reopened = try HDF5File.open(path).root()
        XCTAssertEqual(try reopened.stringAttribute("config"), "{\"a\": 1}")
        let x = try reopened.read("x", as: Float.self)
        XCTAssertEqual(x.shape, [2, 3])
        XCTAssertEqual(x.values, [0, 1, 2, 3, 4, 5])
    }
}
