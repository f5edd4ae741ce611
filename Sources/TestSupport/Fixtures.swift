import Foundation
import Store
import Tensor

/// A group of a golden fixture file written by a tools/ script (PyTorch).
public struct Fixture {
    public let group: HDF5Group
    public let file: HDF5File

    /// Opens `<directory of the calling test file>/Fixtures/<fileName>` at group `name`.
    public init(_ fileName: String, group name: String, testFile: String = #filePath) throws {
        let path = URL(fileURLWithPath: testFile).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(fileName).path
        file = try HDF5File.open(path)
        group = try file.root().openGroup(name)
    }

    /// A stored float32 array as a tensor (optionally requiring a gradient).
    public func tensor(_ name: String, requiresGrad: Bool = false) throws -> Tensor {
        let (shape, values) = try group.read(name, as: Float.self)
        let t = Tensor(shape: shape, values: values, requiresGrad: requiresGrad)
        t.isParameter = requiresGrad
        return t
    }

    public func ints(_ name: String) throws -> [Int] { try group.read(name, as: Int64.self).values.map { Int($0) } }
    public func int(_ name: String) throws -> Int { try group.intAttribute(name) }
    public func double(_ name: String) throws -> Double { try group.doubleAttribute(name) }
}
