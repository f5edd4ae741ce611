import Datasets
import Foundation

/// A small ImageNet-layout folder written by a test itself (encoded with TurboJPEG and
/// libpng): JPEGs of several sizes and aspects, one PNG, a truncated JPEG, a text file named .jpg and an empty
/// class folder.
public enum GeneratedImageFolder {
    public static let classes = ["n01440764", "n01443537", "n01484850"]  // the last one stays empty

    /// A colour gradient whose hue depends on the class, so classes differ in content.
    public static func image(width: Int, height: Int, label: Int, variant: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let p = (y * width + x) * 3, t = (x + y + 7 * variant) % 256
                pixels[p + label % 3] = UInt8(t)
                pixels[p + (label + 1) % 3] = UInt8(255 - t)
                pixels[p + (label + 2) % 3] = UInt8((x * 255) / max(width - 1, 1))
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Writes the folder; returns the paths of the two broken files.
    @discardableResult
    public static func write(to root: String, perClass: Int = 4) throws -> (truncated: String, notAnImage: String) {
        let fm = FileManager.default
        let sizes = [(300, 200), (180, 260), (256, 256), (400, 120)]
        for (label, name) in classes.enumerated() {
            try fm.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
            guard label < 2 else { continue }
            for i in 0..<perClass {
                let (w, h) = sizes[i % sizes.count]
                let picture = image(width: w, height: h, label: label, variant: i)
                if label == 1 && i == 1 {  // one PNG among the JPEGs
                    try Data(try ImageCodecs.encodePNG(picture)).write(to: URL(fileURLWithPath: "\(root)/\(name)/img\(i).png"))
                } else {
                    let jpeg = try ImageCodecs.encodeJPEG(picture, quality: 90)
                    try Data(jpeg).write(to: URL(fileURLWithPath: "\(root)/\(name)/img\(i).JPEG"))
                }
            }
        }
        let good = try ImageCodecs.encodeJPEG(image(width: 200, height: 200, label: 0, variant: 9))
        let truncated = "\(root)/\(classes[0])/truncated.jpg", notAnImage = "\(root)/\(classes[1])/notes.jpg"
        try Data(good.prefix(good.count / 2)).write(to: URL(fileURLWithPath: truncated))
        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: notAnImage))
        return (truncated, notAnImage)
    }
}

