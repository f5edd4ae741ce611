// PNG encoding and decoding through libpng.
//
// Writing uses libpng's low-level API into memory, then writes the bytes to a
// temporary file beside the target and renames it into place, so a reader never
// sees a half-written figure. Only IHDR, pHYs, IDAT and IEND are written (no
// time or text chunks), so the same canvas always gives the same bytes.
// Reading uses libpng's simplified png_image API, which reports errors as
// messages instead of longjmp (which Swift cannot catch).

import CPNG
import Foundation

/// Why a PNG could not be read or written. Every case names the file.
public enum PNGError: Error, Equatable, CustomStringConvertible {
    /// The file does not start with the PNG signature.
    case notPNG(file: String)
    /// The file starts like a PNG but is truncated or damaged.
    case corrupt(file: String, reason: String)
    /// The file could not be opened or read.
    case unreadable(file: String, reason: String)
    /// The file could not be written or moved into place.
    case unwritable(file: String, reason: String)

    public var description: String {
        switch self {
        case .notPNG(let file): return "\(file): not a PNG file (bad signature)"
        case .corrupt(let file, let reason): return "\(file): truncated or corrupt PNG (\(reason))"
        case .unreadable(let file, let reason): return "\(file): cannot read (\(reason))"
        case .unwritable(let file, let reason): return "\(file): cannot write (\(reason))"
        }
    }
}

/// Encodes canvases as 8-bit RGBA PNGs and writes them atomically.
public enum PNGWriter {
    /// The libpng version this process runs with.
    public static var libraryVersion: String { String(cString: png_get_libpng_ver(nil)) }

    /// The PNG encoding of `canvas`; deterministic for a given canvas and libpng/zlib.
    public static func encode(_ canvas: Canvas) -> [UInt8] {
        let sink = ByteSink()
        // Errors here can only come from invalid IHDR values (the canvas
        // guarantees a positive size) or allocation failure; libpng aborts then.
        var png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nil, pngFatalError, pngIgnoreWarning)
        guard png != nil else { fatalError("libpng: png_create_write_struct failed") }
        var info: png_infop? = png_create_info_struct(png)
        defer { png_destroy_write_struct(&png, &info) }

        png_set_write_fn(png, Unmanaged.passUnretained(sink).toOpaque(), { png, data, length in
            guard let png, let data, let io = png_get_io_ptr(png) else { return }
            Unmanaged<ByteSink>.fromOpaque(io).takeUnretainedValue()
                .bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: length))
        }, nil)
        png_set_IHDR(png, info, png_uint_32(canvas.width), png_uint_32(canvas.height), 8,
                     PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT)
        // 72 points per inch = 2834.6 pixels per metre at scale 1; 2x renders say so.
        let pixelsPerMetre = png_uint_32((2834.6 * Double(canvas.pixelsPerPoint)).rounded())
        png_set_pHYs(png, info, pixelsPerMetre, pixelsPerMetre, PNG_RESOLUTION_METER)
        png_write_info(png, info)

        var pixels = canvas.pixels
        let stride = canvas.width * 4
        pixels.withUnsafeMutableBufferPointer { buffer in
            var rows: [png_bytep?] = (0..<canvas.height).map { buffer.baseAddress! + $0 * stride }
            rows.withUnsafeMutableBufferPointer { png_write_image(png, $0.baseAddress) }
        }
        png_write_end(png, nil)
        return sink.bytes
    }

    /// Writes `canvas` to `url`: into a temporary file in the same directory,
    /// then renamed over the target.
    public static func write(_ canvas: Canvas, to url: URL) throws {
        let bytes = encode(canvas)
        let path = url.path
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            try Data(bytes).write(to: temporary)
        } catch {
            throw PNGError.unwritable(file: path, reason: error.localizedDescription)
        }
        if rename(temporary.path, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw PNGError.unwritable(file: path, reason: "rename failed: \(reason)")
        }
    }
}

/// Decodes PNG files into RGBA canvases.
public enum PNGReader {
    /// Reads and decodes the PNG at `url`.
    public static func read(from url: URL) throws -> Canvas {
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: url))
        } catch {
            throw PNGError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try decode(bytes, file: url.path)
    }

    /// Decodes PNG bytes; `file` names the source in errors.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> Canvas {
        let signatureLength = min(bytes.count, 8)
        let signatureMatches = bytes.withUnsafeBufferPointer {
            png_sig_cmp($0.baseAddress, 0, signatureLength) == 0
        }
        guard signatureMatches else { throw PNGError.notPNG(file: file) }
        guard bytes.count > 8 else {
            throw PNGError.corrupt(file: file, reason: "file ends after \(bytes.count) bytes of signature")
        }

        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw PNGError.corrupt(file: file, reason: message(of: &image)) }

        // PNG_FORMAT_RGBA is a compound macro Swift cannot import.
        image.format = png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        let width = Int(image.width), height = Int(image.height)
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        let finished = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, png_int_32(width * 4), nil)
        }
        guard finished != 0 else { throw PNGError.corrupt(file: file, reason: message(of: &image)) }
        return Canvas(width: width, height: height, pixels: pixels)
    }

    /// libpng's error text from a failed png_image call.
    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let text = String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            return text.isEmpty ? "libpng error" : "libpng: \(text)"
        }
    }
}

extension Canvas {
    /// The PNG encoding of this canvas.
    public func pngData() -> Data { Data(PNGWriter.encode(self)) }

    /// Writes this canvas as a PNG to `url` (atomically: temporary file, then rename).
    public func writePNG(to url: URL) throws { try PNGWriter.write(self, to: url) }
}

/// Collects libpng's output.
private final class ByteSink {
    var bytes: [UInt8] = []
}

private let pngFatalError: png_error_ptr = { _, message in
    let text = message.map { String(cString: $0) } ?? "unknown error"
    fatalError("libpng: \(text)")
}

private let pngIgnoreWarning: png_error_ptr = { _, _ in }
