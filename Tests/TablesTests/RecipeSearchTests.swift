import Foundation
import Tables
import Training
import XCTest

/// The recipe search's rule on made-up results (no training): a best candidate that has not
/// converged gets a longer run, and a short candidate that plateaued lower is not chosen.
final class RecipeSearchTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "recipes-\(getpid())-\(UUID().uuidString.prefix(8))"
        for sub in ["/runs", "/tables"] { try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true) }
        try """
        seed: 0
        batch_size: 64
        anchor: linear-mini
        candidates:
          linear-mini:
            advanced: [{epochs: 10}]
          mixer-mini-s:
            advanced: [{epochs: 100}, {epochs: 200}]
        """.write(toFile: directory + "/search.yaml", atomically: true, encoding: .utf8)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func search() throws -> RecipeSearch {
        RecipeSearch(spec: try RecipeSearchSpec.load(from: directory + "/search.yaml"),
                     cache: RunCache(root: directory + "/runs", store: nil), data: try DataCatalog())
    }

    /// Writes a finished run of `candidate` whose validation top-1 is `atFourFifths` at 80%
    /// of its epochs and `last` at the end.
    func finish(_ candidate: RecipeSearch.Candidate, atFourFifths: Double, last: Double) throws {
        let epochs = candidate.recipe.epochs
        var result = RunResult(key: candidate.config.key, top1: last - 1, top5: 99, testImages: 10, trainImages: 10, epochs: epochs,
                               steps: epochs, wallSeconds: 1, imagesPerSecond: 1, finalLosses: [:])
        result.validationTop1 = last
        result.curve = [EpochEvaluation(epoch: epochs * 4 / 5, validationTop1: atFourFifths), EpochEvaluation(epoch: epochs, validationTop1: last)]
        let dir = directory + "/runs/" + candidate.config.key
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try JSONEncoder().encode(result).write(to: URL(fileURLWithPath: dir + "/result.json"))
    }

    func mixer(_ search: RecipeSearch) throws -> [RecipeSearch.Candidate] {
        try search.candidates(only: ["mixer-mini-s"])
    }

    func testAnUnconvergedBestGetsTwiceItsEpochsAndIsNotBeatenByALowPlateau() throws {
        var listed = try mixer(try search())
        XCTAssertEqual(listed.map(\.recipe.epochs), [100, 200])  // nothing trained: nothing added
        // 100 epochs plateaued (converged) at 76.5; 200 epochs reached 81.6, still climbing.
        try finish(listed[0], atFourFifths: 76.44, last: 76.48)
        try finish(listed[1], atFourFifths: 80.60, last: 81.64)
        listed = try mixer(try search())
        XCTAssertEqual(listed.map(\.recipe.epochs), [100, 200, 400])
        XCTAssertEqual(listed.map(\.extended), [false, false, true])
        // Nothing is chosen for the family while the longer run is pending (not the low plateau).
        XCTAssertFalse(try search().write(root: directory).contains("- mixer-mini-s, advanced"))
        // 400 epochs converged higher: chosen, and nothing longer is added.
        try finish(listed[2], atFourFifths: 84.0, last: 84.2)
        XCTAssertEqual(try mixer(try search()).map(\.recipe.epochs), [100, 200, 400])
        let after = RecipeSearch.choose(try search().trials(only: ["mixer-mini-s"]))
        XCTAssertEqual(after["mixer-mini-s"]?["advanced"]?.candidate.recipe.epochs, 400)
        let markdown = try search().write(root: directory)
        XCTAssertTrue(markdown.contains("(*added*)") && markdown.contains("- mixer-mini-s, advanced: "), markdown)
    }

    /// A longer run that did not score higher settles it: the converged one is chosen, even
    /// below an unconverged shorter one (resnet-mini traditional: 100 epochs 86.24 still
    /// rising, 200 and 300 lower, 300 converged).
    func testALongerRunThatScoredLowerIsNotExtendedAgain() throws {
        let listed = try mixer(try search())
        try finish(listed[0], atFourFifths: 85.76, last: 86.24)
        try finish(listed[1], atFourFifths: 86.18, last: 85.98)
        XCTAssertEqual(try mixer(try search()).count, 2)
        let chosen = RecipeSearch.choose(try search().trials(only: ["mixer-mini-s"]))
        XCTAssertEqual(chosen["mixer-mini-s"]?["advanced"]?.candidate.recipe.epochs, 200)
    }

    func testExtensionsStopAtTheLongestRun() throws {
        var listed = try mixer(try search())
        try finish(listed[0], atFourFifths: 71.9, last: 72)  // converged, low
        try finish(listed[1], atFourFifths: 74, last: 77)
        for (epochs, atFourFifths, last) in [(400, 78.0, 80.0), (800, 81.0, 83.0), (1600, 83.5, 84.5)] {
            listed = try mixer(try search())
            XCTAssertEqual(listed.last?.recipe.epochs, epochs)
            try finish(listed.last!, atFourFifths: atFourFifths, last: last)
        }
        XCTAssertEqual(try mixer(try search()).map(\.recipe.epochs), [100, 200, 400, 800, 1600])
        XCTAssertEqual(RecipeSearch.longestExtension, 1600)
        // Still climbing at the longest run: it is chosen over the converged low plateau, marked.
        let chosen = try XCTUnwrap(RecipeSearch.choose(try search().trials(only: ["mixer-mini-s"]))["mixer-mini-s"]?["advanced"])
        XCTAssertEqual(chosen.candidate.recipe.epochs, 1600)
        XCTAssertFalse(chosen.converged)
    }

    /// A converged best is chosen as before: the highest, within 0.1 point the fewer epochs.
    func testAConvergedBestIsChosenAmongTheConverged() throws {
        let listed = try mixer(try search())
        try finish(listed[0], atFourFifths: 80.0, last: 80.15)
        try finish(listed[1], atFourFifths: 80.1, last: 80.2)
        XCTAssertEqual(try mixer(try search()).count, 2)
        let chosen = RecipeSearch.choose(try search().trials(only: ["mixer-mini-s"]))
        XCTAssertEqual(chosen["mixer-mini-s"]?["advanced"]?.candidate.recipe.epochs, 100)
    }
}
