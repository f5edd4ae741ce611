import XCTest
@testable import Datasets

final class FolderDatasetTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "folder-dataset-\(UUID().uuidString)"
        let fm = FileManager.default
        let layout = ["zebra": ["b.png", "a.PNG", "notes.txt"], "ant": ["x.jpg"], "cat": ["2.png", "1.png", ".hidden.png"]]
        for (cls, files) in layout {
            try fm.createDirectory(atPath: "\(root!)/\(cls)", withIntermediateDirectories: true)
            for f in files { _ = fm.createFile(atPath: "\(root!)/\(cls)/\(f)", contents: Data([1, 2, 3])) }
        }
        _ = fm.createFile(atPath: "\(root!)/README.txt", contents: Data())
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func testScanSortsClassesAndFiles() throws {
        let dataset = try FolderDataset(root: root)
        XCTAssertEqual(dataset.classes, ["ant", "cat", "zebra"])
        XCTAssertEqual(dataset.samples.map { ($0.path as NSString).lastPathComponent }, ["x.jpg", "1.png", "2.png", "a.PNG", "b.png"])
        XCTAssertEqual(dataset.samples.map(\.label), [0, 1, 1, 2, 2])
        XCTAssertEqual(dataset.manifest, FolderDataset.Manifest(root: root, classes: ["ant", "cat", "zebra"],
                                                                countPerClass: [1, 2, 2], count: 5,
                                                                fileListSHA256: "3fe24c99e28c293982d0751abd7354e8560fc1f667d80885297d4ee4b7585d72", emptyClasses: []))
    }

    func testDecodingIsInjected() throws {
        let dataset = try FolderDataset(root: root, extensions: ["png"])
        XCTAssertEqual(dataset.count, 4)
        XCTAssertEqual(try dataset.image(at: 0) { path in try Data(contentsOf: URL(fileURLWithPath: path)).count }, 3)
        XCTAssertThrowsError(try dataset.image(at: 0, decode: FolderDataset.noDecoder)) {
            XCTAssertEqual($0 as? DataError, .decoderNotAvailable(path: dataset.samples[0].path))
        }
    }

    func testMissingOrEmptyFolder() throws {
        XCTAssertThrowsError(try FolderDataset(root: root + "/nope")) {
            XCTAssertEqual($0 as? DataError, .folder(path: self.root + "/nope", reason: "dataset folder does not exist"))
        }
        let empty = root + "/empty-root"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try FolderDataset(root: empty)) { error in
            guard case .folder(_, let reason)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("no class folders"))
        }
    }
}
