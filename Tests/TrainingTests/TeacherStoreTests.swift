import Foundation
import Training
import XCTest

final class TeacherStoreTests: XCTestCase {
    /// A manifest that does not parse must stop a run's key from being made: a missing
    /// teacher hash would let results of different teachers share one key.
    func testMalformedManifestIsAnErrorNamingTheFile() throws {
        let root = NSTemporaryDirectory() + "scalekd-teachers-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/data-manifests", withIntermediateDirectories: true)
        let store = TeacherStore(root: root)
        XCTAssertNil(try store.weightsID("swin-mini-l", scale: .small), "no manifest: no teacher built yet")
        try "- name: swin-mini-l\n  file: [unclosed\n".write(toFile: store.manifestPath, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try store.weightsID("swin-mini-l", scale: .small)) { error in
            XCTAssertTrue("\(error)".contains("data-manifests/teachers.yaml"), "\(error)")
            XCTAssertTrue("\(error)".contains("git checkout"), "\(error)")
        }
    }

    /// Two teacher processes finish at different times: the later one's update must keep the
    /// earlier one's record (the manifest is read again under a lock, not reused from the start).
    func testUpdateKeepsRecordsWrittenByAnotherProcess() throws {
        let root = NSTemporaryDirectory() + "scalekd-teachers-update-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/data-manifests", withIntermediateDirectories: true)
        func record(_ name: String, top1: Double) -> TeacherRecord {
            TeacherRecord(name: name, file: "data/teachers/\(name).h5", sha256: "00", top1: top1, top5: 99, epochs: 1,
                          trainImages: 10, runKey: "k", wallSeconds: 1, parameters: 1, log: "l", validationTop1: top1 - 1)
        }
        let first = TeacherStore(root: root), second = TeacherStore(root: root)
        try first.update(record("swin-mini-l", top1: 91))
        try second.update(record("vit-mini-l", top1: 92))
        try first.update(record("swin-mini-l", top1: 93))
        let recs = try TeacherStore(root: root).records()
        XCTAssertEqual(recs.map(\.name).sorted(), ["swin-mini-l", "vit-mini-l"])
        XCTAssertEqual(recs.first { $0.name == "swin-mini-l" }?.top1, 93)
        XCTAssertEqual(recs.first { $0.name == "vit-mini-l" }?.validationTop1, 91)
    }
}
