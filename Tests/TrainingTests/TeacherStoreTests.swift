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
}
