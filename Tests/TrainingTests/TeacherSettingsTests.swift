import Distill
import Foundation
import Models
import Tensor
import Training
import XCTest

/// tables/teacher-settings.yaml resolves into every ScaleKD run: the released configs'
/// settings per teacher and pair, the minis by the file's rule, a run's own options first.
final class TeacherSettingsTests: XCTestCase {
    var settings: TeacherSettings {
        get throws {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(TeacherSettings.fileName).path
            return try TeacherSettings.load(from: path)
        }
    }

    func resolved(_ teacher: String, _ student: String, _ options: MethodOptions = .init(), _ flags: MethodFlags = .init()) throws -> ScaleKDOptions {
        ScaleKDOptions(try settings.resolved(MethodConfig(name: .scalekd, options: options, flags: flags), teacher: teacher, student: student))
    }

    func testReleasedSettingsPerTeacherAndPair() throws {
        let swinS = try resolved("swin-s", "resnet50")
        XCTAssertEqual(swinS.heads, [3, 6])
        XCTAssertFalse(swinS.kd)
        XCTAssertEqual(swinS.alphaFrequency, [0.06, 0])
        let swinL = try resolved("swin-l", "convnext-t")
        XCTAssertEqual(swinL.heads, [8, 16])
        XCTAssertEqual(swinL.softmaxScale, 1)
        XCTAssertTrue(swinL.kd)
        let beit = try resolved("beit-l14", "resnet50")
        XCTAssertEqual(beit.alphaSpatial, [0.016, 0.016])
        XCTAssertEqual(beit.softmaxScale, 0.2)
    }

    func testMinisFollowTheirPaperTeacherWithTheirOwnHeads() throws {
        let s = try resolved("swin-mini-s", "resnet-mini")
        XCTAssertFalse(s.kd)
        XCTAssertEqual(s.alphaFrequency, [0.06, 0])
        XCTAssertEqual(s.heads, [4, 8])
        XCTAssertEqual(try resolved("vit-mini-l", "mixer-mini-b").softmaxScale, 1)   // beit-l14/mixer-b14
        XCTAssertEqual(try resolved("vit-mini-l", "resnet-mini").softmaxScale, 0.2)
        XCTAssertEqual(try resolved("swin-mini-l", "swin-mini-t").softmaxScale, 1)   // swin-l/swin-t
        // The mini heads are the teachers' own attention heads at stages 3 and 4.
        for (name, heads) in try settings.minis.heads {
            var rng = RandomGenerator(seed: 0)
            let model = Zoo.preset(named: name)!.build(&rng)
            if let swin = model as? SwinTransformer {
                XCTAssertEqual(heads, Array(swin.config.heads[2...3]), name)
            } else if let vit = model as? VisionTransformer {
                XCTAssertEqual(heads, [vit.config.heads, vit.config.heads], name)
            } else { XCTFail("\(name) is neither Swin nor ViT") }
        }
    }

    func testRunOptionsComeFirst() throws {
        // A run's beta replaces the per-stage weights whole; its heads and KD switch win.
        let o = try resolved("swin-mini-s", "resnet-mini", MethodOptions(beta: 1, headsS3: 2), MethodFlags(kd: true))
        XCTAssertEqual(o.alphaSpatial[0], 0.14, accuracy: 1e-6)
        XCTAssertEqual(o.alphaFrequency, [0, 0])
        XCTAssertEqual(o.heads, [2, 8])
        XCTAssertTrue(o.kd)
        // Other methods are left alone.
        let kd = MethodConfig(name: .kd)
        XCTAssertEqual(try settings.resolved(kd, teacher: "swin-mini-s", student: "resnet-mini"), kd)
    }

    func testUnknownKeyIsAnError() throws {
        let path = NSTemporaryDirectory() + "settings-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "teachers:\n  swin-s: {heads_s3: 3, head_s4: 6}\npairs: {}\nminis: {teachers: {}, students: {}, heads: {}}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TeacherSettings.load(from: path)) { error in
            XCTAssertTrue("\(error)".contains("\(path):2: unknown key 'head_s4'"), "\(error)")
        }
    }
}
