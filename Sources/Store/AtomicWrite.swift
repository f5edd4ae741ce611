import Foundation

/// Writes a file so that `path` either keeps its old content or gets the complete new
/// one: `body` writes a temporary file in the same directory (same file system, so the
/// rename is atomic), which is synced and renamed over `path` only if `body` succeeds.
enum AtomicWrite {
    static func write(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UUID().uuidString.prefix(8))"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError.io(path: path, operation: "write", detail: "directory \(directory) does not exist")
        }
        do {
            try body(temporary)
            try sync(temporary)
            guard rename(temporary, path) == 0 else {
                throw StoreError.io(path: path, operation: "rename \(temporary) into place", detail: String(cString: strerror(errno)))
            }
        } catch {
            unlink(temporary)
            throw error
        }
        // Make the rename itself durable.
        let dirFD = open(directory, O_RDONLY)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    private static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open for sync", detail: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StoreError.io(path: path, operation: "sync", detail: String(cString: strerror(errno))) }
    }
}
