import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// A small filesystem mounted for one fault test: a tmpfs of a few MiB (disk full) or an
/// ext4 image on a loop device (I/O errors after a filesystem shutdown). Real faults need a
/// real filesystem; both need root (`mount(2)`), which this repository's sandbox and
/// supervisor tests already require, here and in CI.
final class FaultMount {
    let directory: URL
    private let image: URL?
    private var mounted = false

    private init(directory: URL, image: URL?) {
        self.directory = directory
        self.image = image
    }

    /// Skips the test, saying why, when the process cannot mount filesystems.
    static func requireRoot(_ what: String) throws {
        guard getuid() == 0 else {
            throw XCTSkip("\(what) mounts a filesystem of its own (mount(2)) and needs root; run the tests as root, as CI does")
        }
    }

    /// A tmpfs of `bytes` at a fresh directory under the temporary directory.
    static func tmpfs(bytes: Int, _ what: String) throws -> FaultMount {
        try requireRoot(what)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-fault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let m = FaultMount(directory: dir, image: nil)
        guard mount("tmpfs", dir.path, "tmpfs", 0, "size=\(bytes),mode=0755") == 0 else {
            let why = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: dir)
            throw XCTSkip("\(what): cannot mount a tmpfs at \(dir.path): \(why)")
        }
        m.mounted = true
        return m
    }

    /// An ext4 filesystem of `megabytes` in an image file, mounted through a loop device.
    static func ext4(megabytes: Int, _ what: String) throws -> FaultMount {
        try requireRoot(what)
        guard let mkfs = ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("\(what) needs mkfs.ext4 (e2fsprogs) to build its filesystem image")
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ecology-fault-\(UUID().uuidString)")
        let dir = base.appendingPathComponent("mnt"), image = base.appendingPathComponent("disk.img")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: image.path, contents: nil),
              truncate(image.path, off_t(megabytes) << 20) == 0 else {
            throw XCTSkip("\(what): cannot create the image \(image.path)")
        }
        let m = FaultMount(directory: dir, image: image)
        let (status, output) = Self.run(mkfs, ["-q", "-F", image.path])
        guard status == 0 else { throw XCTSkip("\(what): mkfs.ext4 failed: \(output)") }
        try m.mountImage(what)
        return m
    }

    /// (Re)mounts the ext4 image (journal replay after a shutdown happens here).
    func mountImage(_ what: String = "the fault test") throws {
        guard let image, !mounted else { return }
        let (status, output) = Self.run("/usr/bin/mount", ["-o", "loop", image.path, directory.path])
        guard status == 0 else {
            throw XCTSkip("\(what): cannot mount an ext4 image through a loop device here: \(output)")
        }
        mounted = true
    }

    /// Shuts the ext4 filesystem down as a failing disk would take it away: its data is
    /// flushed first (so what was written before stays), then every further read or write
    /// on it fails with EIO until it is unmounted and mounted again (EXT4_IOC_SHUTDOWN).
    func shutDownFilesystem() throws {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        // EXT4_IOC_SHUTDOWN = _IOR('X', 125, __u32); flag 0 = EXT4_GOING_FLAGS_DEFAULT (flush, then shut down).
        var flags: UInt32 = 0
        let request = UInt(2 << 30) | UInt(4 << 16) | UInt(UInt8(ascii: "X")) << 8 | 125
        guard ioctl(fd, request, &flags) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// Writes a file of zeros until the filesystem is full; returns its URL and size.
    @discardableResult
    func fill(named name: String = "filler") -> (url: URL, bytes: Int) {
        let url = directory.appendingPathComponent(name)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return (url, 0) }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 16_384)
        var total = 0
        while true {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
        }
        return (url, total)
    }

    /// Bytes still free on the filesystem.
    var freeBytes: Int {
        var s = statvfs()
        guard statvfs(directory.path, &s) == 0 else { return -1 }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }

    /// Unmounts (lazily, so open descriptors cannot keep it busy) and removes the
    /// directory and the image. Safe to call more than once; every test calls it in teardown.
    func unmount() {
        if mounted {
            if umount2(directory.path, Int32(MNT_DETACH)) != 0 {
                print("FaultMount: umount \(directory.path) failed: \(String(cString: strerror(errno)))")
            }
            mounted = false
        }
        if let image {
            try? FileManager.default.removeItem(at: image.deletingLastPathComponent())
        } else {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Unmounts the ext4 image and keeps it for `mountImage()`.
    func unmountKeepingImage() {
        guard mounted else { return }
        if umount2(directory.path, 0) != 0 { _ = umount2(directory.path, Int32(MNT_DETACH)) }
        mounted = false
    }

    private static func run(_ tool: String, _ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }
}

extension XCTestCase {
    /// A tmpfs for this test, unmounted at its end whatever happens.
    func makeTmpfs(bytes: Int) throws -> FaultMount {
        let m = try FaultMount.tmpfs(bytes: bytes, name)
        addTeardownBlock { m.unmount() }
        return m
    }

    /// An ext4 loop mount for this test, unmounted at its end whatever happens.
    func makeExt4(megabytes: Int) throws -> FaultMount {
        let m = try FaultMount.ext4(megabytes: megabytes, name)
        addTeardownBlock { m.unmount() }
        return m
    }
}
