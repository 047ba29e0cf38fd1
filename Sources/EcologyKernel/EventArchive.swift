import EcologyCore
import Foundation
import GRDB

/// The event log's cold end: JSONL files in `DATA_DIR/archive/`, one per pruned batch,
/// named `events-<first seq>-<last seq>.jsonl` (20 digits each, so names sort by seq).
///
/// The log stays the complete audit trail: a batch of events is deleted from the
/// database only after its file is durable (written to a temporary name, fsynced,
/// renamed, directory fsynced). A crash in between leaves a file whose events are still
/// in the database; the next pass finds it (`pendingFiles`) and deletes those rows
/// without writing them again, and new batches always start after the last archived seq,
/// so no event is ever archived twice or lost.
public struct EventArchive: Sendable {
    public let directory: String

    /// The archive of the world whose database is at `databasePath` (its data directory).
    public init(databasePath: String) {
        directory = (databasePath as NSString).deletingLastPathComponent + "/archive"
    }

    public struct File: Sendable, Equatable {
        public var firstSeq: Int64, lastSeq: Int64, path: String
    }

    static let prefix = "events-", suffix = ".jsonl"

    static func name(first: Int64, last: Int64) -> String {
        prefix + String(format: "%020lld-%020lld", first, last) + suffix
    }

    /// Archive files, oldest first. Names that do not parse (an operator's notes, a
    /// temporary file left by a crash) are not archive files.
    public func files() throws -> [File] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { name -> File? in
            guard name.hasPrefix(Self.prefix), name.hasSuffix(Self.suffix) else { return nil }
            let range = name.dropFirst(Self.prefix.count).dropLast(Self.suffix.count).split(separator: "-")
            guard range.count == 2, let first = Int64(range[0]), let last = Int64(range[1]), first <= last else { return nil }
            return File(firstSeq: first, lastSeq: last, path: directory + "/" + name)
        }.sorted { $0.firstSeq < $1.firstSeq }
    }

    /// The highest seq any archive file holds (0 when there is none).
    public func archivedThrough() throws -> Int64 { try files().last?.lastSeq ?? 0 }

    // MARK: Lines

    /// One event as an archive line: the export's fields plus `time_micros` (exact), with
    /// `data` spliced in exactly as the database stores it, so the line keeps the
    /// stored bytes. Keys in sorted order, as `JSONCodec` writes them.
    static func line(seq: Int64, timeMicros: Int64, type: String, principal: String?, rawData: String) -> String {
        let rest = JSONCodec.string(.object([
            "seq": .int(seq), "time": .number(seconds(timeMicros)), "time_micros": .int(timeMicros),
            "type": .string(type), "principal": principal.map(JSONValue.string) ?? .null,
        ]))
        // Data the parser cannot read (never written by EventLog) is kept as a string rather than dropped.
        let data = (try? JSONCodec.decode(rawData)) != nil ? rawData : JSONCodec.string(.string(rawData))
        return "{\"data\":" + data + "," + rest.dropFirst()
    }

    /// Parses one archive line back into the event it records.
    static func event(line: Substring) throws -> WorldEvent {
        guard case .object(let o) = try JSONCodec.decode(String(line)),
              let seq = o["seq"]?.intValue, let micros = o["time_micros"]?.intValue, let type = o["type"]?.stringValue else {
            throw KernelError(.internal, "archive line is not an event: \(line.prefix(120))")
        }
        return WorldEvent(seq: seq, timeMicros: micros, type: type, principal: o["principal"]?.stringValue, data: o["data"] ?? .null)
    }

    /// The events of one archive file, in seq order.
    public func events(in file: File) throws -> [WorldEvent] {
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        return try text.split(separator: "\n", omittingEmptySubsequences: true).map(Self.event(line:))
    }

    // MARK: Writing

    /// Writes `lines` (events `first...last`) durably under their final name and returns it.
    /// Rewriting the same batch (a retry) replaces the file with identical content.
    func write(lines: [String], first: Int64, last: Int64) throws -> File {
        try makeDirectoryDurably()
        let name = Self.name(first: first, last: last)
        let final = directory + "/" + name, temporary = directory + "/." + name + ".tmp"
        var bytes: [UInt8] = []
        for line in lines { bytes += Array(line.utf8); bytes.append(0x0A) }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Self.failure("create \(temporary)") }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let error = errno
        close(fd)
        guard ok else { unlink(temporary); errno = error; throw Self.failure("write \(temporary)") }
        guard rename(temporary, final) == 0 else { throw Self.failure("rename \(temporary)") }
        try fsyncDirectory(directory)
        return File(firstSeq: first, lastSeq: last, path: final)
    }

    private func makeDirectoryDurably() throws {
        if FileManager.default.fileExists(atPath: directory) { return }
        if mkdir(directory, 0o750) != 0 && errno != EEXIST { throw Self.failure("create \(directory)") }
        try fsyncDirectory((directory as NSString).deletingLastPathComponent)
    }

    private func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure("open \(path)") }
        defer { close(fd) }
        if fsync(fd) != 0 { throw Self.failure("fsync \(path)") }
    }

    private static func failure(_ what: String) -> KernelError {
        KernelError(.internal, "event archive: could not \(what): \(String(cString: strerror(errno)))")
    }
}
