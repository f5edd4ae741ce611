import XCTest
@testable import Datasets

final class SubsetTests: XCTestCase {
    var synthetic: SyntheticFashionMNIST!
    var data: FashionMNIST!

    override func setUpWithError() throws {
        synthetic = try SyntheticFashionMNIST(trainPerClass: 12, testPerClass: 6)
        data = try FashionMNIST.load(manifest: synthetic.manifest, verifyHashes: false)
    }

    override func tearDown() { synthetic.remove() }

    func testStudentSubsetIsSeededAndClassBalanced() {
        let a = data.studentSubset(perClass: 5, seed: 0), b = data.studentSubset(perClass: 5, seed: 0)
        let c = data.studentSubset(perClass: 5, seed: 1)
        XCTAssertEqual(a.sourceIndices, b.sourceIndices)
        XCTAssertNotEqual(a.sourceIndices, c.sourceIndices)
        XCTAssertEqual(a.count, 50)
        XCTAssertEqual(a.sourceIndices, a.sourceIndices.sorted())
        for label in 0..<10 { XCTAssertEqual(a.labels.filter { $0 == label }.count, 5) }
        for (i, source) in a.sourceIndices.enumerated() { XCTAssertEqual(a.labels[i], data.train.labels[source]) }
    }

    func testIndexHashIsDecimalTextOfSortedIndices() {
        // Documented format: sorted, decimal, each followed by "\n".
        XCTAssertEqual(ImageDataset.indexListSHA256([17, 3, 250]), SHA256.hexDigest("3\n17\n250\n"))
        let subset = data.studentSubset(perClass: 3, seed: 7)
        let text = subset.sourceIndices.sorted().map { "\($0)\n" }.joined()
        XCTAssertEqual(subset.indexListSHA256, SHA256.hexDigest(text))
    }

    func testSubsetOfSubsetKeepsSourceIndices() {
        let student = data.studentSubset(perClass: 6, seed: 0)
        let inner = student.classBalancedSubset(perClass: 2, seed: 3)
        XCTAssertEqual(inner.count, 20)
        XCTAssertTrue(Set(inner.sourceIndices).isSubset(of: Set(student.sourceIndices)))
        for i in 0..<inner.count { XCTAssertEqual(inner.labels[i], data.train.labels[inner.sourceIndices[i]]) }
    }

    func testCiSubsets() {
        XCTAssertEqual(data.ciTrainSet(perClass: 4).count, 40)
        XCTAssertEqual(data.ciTestSet(perClass: 5).count, 50)
        XCTAssertEqual(data.validationSet.count, 10)
        XCTAssertEqual(data.teacherPretrainSet.count, 110)
        XCTAssertTrue(Set(data.validationSet.sourceIndices).isDisjoint(with: data.teacherPretrainSet.sourceIndices))
        XCTAssertTrue(Set(data.validationSet.sourceIndices).isDisjoint(with: data.studentSubset(perClass: 6, seed: 0).sourceIndices))
        XCTAssertEqual(data.testSet.count, 60)
    }
}
