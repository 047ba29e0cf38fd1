import Foundation

/// Sizes of the world's files (database, WAL, archive) as the file system reports them.
public enum HostFiles {
    /// A file's size in bytes; 0 if it does not exist (a WAL before the first write).
    public static func size(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// The summed sizes of a directory's entries (not recursive); 0 if it does not exist.
    public static func directorySize(_ path: String) -> Int64 {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { size(path + "/" + $0) }.reduce(0, +)
    }
}
