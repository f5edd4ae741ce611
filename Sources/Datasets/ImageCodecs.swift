import CPNG
import CTurboJPEG
import Foundation

/// An 8-bit RGB image, rows top to bottom, pixels interleaved (r, g, b).
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "\(width)x\(height) RGB needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// JPEG (libjpeg-turbo's TurboJPEG API) and PNG (libpng's simplified API) decoding, and
/// JPEG encoding for tests and tools. Grey and CMYK JPEGs are converted to RGB by the
/// library; PNG alpha is dropped (composited on black, libpng's default).
public enum ImageCodecs {
    /// Reads and decodes `path`, choosing the codec by the file's signature, not its name.
    public static func decode(path: String) throws -> RGBImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "cannot open the file")
        }
        return try decode([UInt8](data), path: path)
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> RGBImage {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return try decodeJPEG(bytes, path: path) }
        if bytes.count >= 8, bytes.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try decodePNG(bytes, path: path)
        }
        throw DataError.corruptImage(path: path, reason: bytes.isEmpty ? "empty file" : "neither a JPEG nor a PNG signature")
    }

    /// Any libjpeg warning (a truncated file, bad Huffman data) fails too: TurboJPEG would
    /// hand back a partly grey image, which no training or evaluation should see silently.
    public static func decodeJPEG(_ bytes: [UInt8], path: String) throws -> RGBImage {
        guard let handle = tjInitDecompress() else { throw DataError.corruptImage(path: path, reason: "TurboJPEG did not start") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0 else { throw DataError.corruptImage(path: path, reason: message(handle)) }
        guard width > 0, height > 0 else { throw DataError.corruptImage(path: path, reason: "image is \(width)x\(height)") }
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = bytes.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress, width, 0, height,
                              Int32(TJPF_RGB.rawValue), 0)
            }
        }
        guard status == 0 else { throw DataError.corruptImage(path: path, reason: message(handle)) }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    public static func decodePNG(_ bytes: [UInt8], path: String) throws -> RGBImage {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw DataError.corruptImage(path: path, reason: message(&image)) }
        image.format = png_uint_32(PNG_FORMAT_FLAG_COLOR)  // PNG_FORMAT_RGB, a macro Swift cannot import
        let width = Int(image.width), height = Int(image.height)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let finished = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, png_int_32(width * 3), nil)
        }
        guard finished != 0 else { throw DataError.corruptImage(path: path, reason: message(&image)) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Baseline JPEG, 4:2:0 chroma subsampling.
    public static func encodeJPEG(_ image: RGBImage, quality: Int = 90) throws -> [UInt8] {
        guard let handle = tjInitCompress() else { throw DataError.corruptImage(path: "<memory>", reason: "TurboJPEG did not start") }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(TJPF_RGB.rawValue),
                        &buffer, &size, Int32(TJSAMP_420.rawValue), Int32(quality), 0)
        }
        defer { if let buffer { tjFree(buffer) } }
        guard status == 0, let buffer else { throw DataError.corruptImage(path: "<memory>", reason: message(handle)) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    /// 8-bit RGB PNG.
    public static func encodePNG(_ image: RGBImage) throws -> [UInt8] {
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = png_uint_32(PNG_FORMAT_FLAG_COLOR)
        defer { png_image_free(&png) }
        var size = png_alloc_size_t(0)
        let sized = image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard sized != 0 else { throw DataError.corruptImage(path: "<memory>", reason: message(&png)) }
        var out = [UInt8](repeating: 0, count: Int(size))
        let written = image.pixels.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { png_image_write_to_memory(&png, $0.baseAddress, &size, 0, src.baseAddress, 0, nil) }
        }
        guard written != 0 else { throw DataError.corruptImage(path: "<memory>", reason: message(&png)) }
        return Array(out.prefix(Int(size)))
    }

    private static func message(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "TurboJPEG error" }
        return "libjpeg-turbo: " + String(cString: text)
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let text = String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            return text.isEmpty ? "libpng error" : "libpng: \(text)"
        }
    }
}
