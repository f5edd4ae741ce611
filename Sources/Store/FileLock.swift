import Foundation

/// An exclusive advisory lock (flock) on a file, held while a closure runs: how processes
/// sharing a run cache or a manifest keep out of each other's way. The kernel releases it
/// when a process dies, so a killed holder never leaves it stuck.
public enum FileLock {
    /// Runs `body` holding the lock on `path` (created if missing). When another process
    /// holds it: with `wait`, calls `onWait` and blocks until it is free; otherwise returns nil at once.
    @discardableResult
    public static func withLock<T>(_ path: String, wait: Bool = true, onWait: () -> Void = {},
                                   _ body: () throws -> T) throws -> T? {
        let fd = open(path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard wait else { return nil }
            onWait()
            flock(fd, LOCK_EX)
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
