import EcologyHost
import Foundation
import XCTest

/// The allocator settings behind the soak's flat resident set (`HeapPolicy`), and the
/// readings the soak and the observatory take (`ProcessStatus`).
final class HeapPolicyTests: XCTestCase {
    /// Memory freed in blocks below the mmap threshold stays in glibc's arena when live
    /// blocks sit above it (an arena shrinks only from its top), so the resident set keeps
    /// it; a trim hands the free pages in the middle back. This is the growth the soak
    /// measured. One block in 64 stays allocated, so each freed run (~250 KiB) is bounded
    /// by live blocks on both sides, whichever arena this thread allocates from.
    func testTrimReturnsFreedSmallBlocksToTheKernel() throws {
        let blockSize = 4_096, blocks = 40_000, keepEvery = 64   // ~160 MiB, ~157 MiB of it freed
        var all: [UnsafeMutableRawPointer] = []
        all.reserveCapacity(blocks)
        for _ in 0..<blocks {
            let p = try XCTUnwrap(malloc(blockSize))
            memset(p, 0x5a, blockSize)           // touch: make the pages resident
            all.append(p)
        }
        let kept = stride(from: keepEvery - 1, to: blocks, by: keepEvery).map { all[$0] }
        defer { for p in kept { free(p) } }
        for (index, p) in all.enumerated() where index % keepEvery != keepEvery - 1 { free(p) }
        all.removeAll()
        let freedButRetained = try XCTUnwrap(ProcessStatus.residentBytes())
        XCTAssertGreaterThan(ProcessStatus.heap().retainedFreeBytes, 100 << 20, "the freed blocks are held as free heap")
        HeapPolicy.trim()
        let trimmed = try XCTUnwrap(ProcessStatus.residentBytes())
        XCTAssertLessThan(trimmed, freedButRetained - (100 << 20),
                          "trim gave back too little: RSS \(freedButRetained >> 20) MiB freed, \(trimmed >> 20) MiB trimmed")
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
