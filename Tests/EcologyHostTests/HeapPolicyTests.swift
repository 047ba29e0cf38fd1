import EcologyHost
import Foundation
import XCTest

/// The allocator settings behind the soak's flat resident set (`HeapPolicy`), and the
/// readings the soak and the observatory take (`ProcessStatus`).
final class HeapPolicyTests: XCTestCase {
    /// Memory freed in small blocks stays in glibc's arena (it is below the mmap threshold,
    /// and the allocation kept at the top pins the heap's end), so the resident set keeps
    /// it; a trim hands the free pages back. This is the growth the soak measured.
    func testTrimReturnsFreedSmallBlocksToTheKernel() throws {
        let blockSize = 4_096, blocks = 40_000   // ~160 MiB in blocks far below the mmap threshold
        var kept: [UnsafeMutableRawPointer] = []
        kept.reserveCapacity(blocks)
        for _ in 0..<blocks {
            let p = try XCTUnwrap(malloc(blockSize))
            memset(p, 0x5a, blockSize)           // touch: make the pages resident
            kept.append(p)
        }
        // A block allocated last sits near the top, so the arena cannot shrink by its end alone.
        let pin = try XCTUnwrap(malloc(64))
        defer { free(pin) }
        let full = try XCTUnwrap(ProcessStatus.residentBytes())
        for p in kept { free(p) }
        kept.removeAll()
        let freedButRetained = try XCTUnwrap(ProcessStatus.residentBytes())
        XCTAssertGreaterThan(ProcessStatus.heap().retainedFreeBytes, 100 << 20, "the freed blocks are held as free heap")
        HeapPolicy.trim()
        let trimmed = try XCTUnwrap(ProcessStatus.residentBytes())
        XCTAssertLessThan(trimmed, freedButRetained - (100 << 20),
                          "trim gave back too little: RSS \(full >> 20) MiB full, \(freedButRetained >> 20) freed, \(trimmed >> 20) trimmed")
    }

    func testReadingsOfThisProcess() throws {
        let rss = try XCTUnwrap(ProcessStatus.residentBytes())
        XCTAssertGreaterThan(rss, 1 << 20)
        XCTAssertLessThanOrEqual(try XCTUnwrap(ProcessStatus.anonymousResidentBytes()), rss)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(ProcessStatus.threads()), 1)
        let fds = try XCTUnwrap(ProcessStatus.openDescriptors())
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        XCTAssertEqual(ProcessStatus.openDescriptors(), fds + 1)
        XCTAssertGreaterThan(ProcessStatus.heap().inUseBytes, 0)
        XCTAssertNil(ProcessStatus.residentBytes(pid: "999999999"), "a process that does not exist has no reading")
    }
}
