import Foundation
import XCTest
@testable import Plot

final class PNGTests: XCTestCase {
    func testRoundTripKeepsSizeAndPixels() throws {
        var canvas = Canvas(width: 7, height: 5, background: Color(hex: 0x102030))
        canvas.blend(x: 3, y: 2, color: Color(hex: 0xFF8800))
        canvas.blend(x: 6, y: 4, color: Color(red: 1, green: 2, blue: 3, alpha: 4))
        let decoded = try roundTrip(canvas)
        XCTAssertEqual(decoded.width, 7)
        XCTAssertEqual(decoded.height, 5)
        XCTAssertEqual(decoded.pixels, canvas.pixels)
    }

    func testEncodingIsDeterministic() {
        XCTAssertEqual(Samples.line.render().pngData(), Samples.line.render().pngData())
    }

    func testWriteReplacesTheFileAndLeavesNoTemporaryFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.png")
        try Canvas(width: 3, height: 3, background: .black).writePNG(to: url)
        try Canvas(width: 4, height: 2).writePNG(to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["out.png"])
        let decoded = try PNGReader.read(from: url)
        XCTAssertEqual(decoded.width, 4)
        XCTAssertEqual(decoded[0, 0], .white)
    }

    func testFigureWritesItsRenderAtTheRequestedScale() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("heatmap.png")
        let figure: any Figure = Samples.heatmap
        try figure.writePNG(to: url, scale: 2)
        let decoded = try PNGReader.read(from: url)
        XCTAssertEqual(decoded.pixels, Samples.heatmap.render(scale: 2).pixels)
    }

    func testWriteIntoMissingDirectoryNamesTheFile() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/figure.png")
        XCTAssertThrowsError(try Canvas(width: 2, height: 2).writePNG(to: url)) { error in
            guard case PNGError.unwritable(let file, _) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(file, url.path)
        }
    }

    func testReadingANonPNGFileNamesTheFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("notes.png")
        try Data("this is not an image".utf8).write(to: url)
        XCTAssertThrowsError(try PNGReader.read(from: url)) { error in
            XCTAssertEqual(error as? PNGError, .notPNG(file: url.path))
            XCTAssertTrue(String(describing: error).contains("notes.png"))
        }
    }

    func testReadingATruncatedPNGNamesTheFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = [UInt8](Samples.scatter.render().pngData())
        for keep in [4, 8, 40, bytes.count / 2, bytes.count - 20] {
            let url = directory.appendingPathComponent("cut-\(keep).png")
            try Data(bytes.prefix(keep)).write(to: url)
            XCTAssertThrowsError(try PNGReader.read(from: url), "kept \(keep) bytes") { error in
                guard case PNGError.corrupt(let file, _) = error else { return XCTFail("kept \(keep): \(error)") }
                XCTAssertEqual(file, url.path)
                XCTAssertTrue(String(describing: error).contains("cut-\(keep).png"))
            }
        }
    }

    func testReadingAMissingFileNamesTheFile() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString).png")
        XCTAssertThrowsError(try PNGReader.read(from: url)) { error in
            guard case PNGError.unreadable(let file, _) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(file, url.path)
        }
    }
}
