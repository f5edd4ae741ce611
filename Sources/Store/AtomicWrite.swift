import Foundation

/// Writes a file so that `path` either keeps its old content or gets the complete new
/// one: `body` writes a temporary file in the same directory (same file system, so the
/// rename is atomic), which is synced and renamed over `path` only if `body` succeeds.
public enum AtomicWrite {
    public static func write(to path: String, _ body: (_ temporaryPath: String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/" + temporaryPrefix(of: url.lastPathComponent) + "\(getpid())-\(UUID().uuidString.prefix(8))"
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

    /// Writes `data` to `path` atomically (see above).
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { temporary in
            guard FileManager.default.createFile(atPath: temporary, contents: data) else {
                throw StoreError.io(path: path, operation: "write", detail: "cannot create \(temporary)")
            }
        }
    }

    static func temporaryPrefix(of name: String) -> String { "." + name + ".tmp-" }

    /// Removes temporary files that an interrupted write of `path` left behind (a process
    /// killed mid-write). Call it only where no other process can be writing `path`.
    @discardableResult
    public static func removeLeftovers(of path: String) -> [String] {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let prefix = temporaryPrefix(of: url.lastPathComponent)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            if (try? FileManager.default.removeItem(atPath: directory + "/" + name)) != nil { removed.append(directory + "/" + name) }
        }
        return removed
    }

    private static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open for sync", detail: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StoreError.io(path: path, operation: "sync", detail: String(cString: strerror(errno))) }
    }
}
