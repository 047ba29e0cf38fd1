import CFuzzerDriver
import Foundation

/// The signature libFuzzer calls for every input. Each target also exports its callback
/// as `LLVMFuzzerTestOneInput` (`@_cdecl`), so whichever `main` the linker keeps (the
/// target's, or libFuzzer's own) runs the same callback.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer with this process's command line on `target`; returns its exit status.
public func runFuzzer(_ target: FuzzTarget) -> Int32 {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    return LLVMFuzzerRunDriver(&argc, &argv, target)
}

/// The input as bytes (libFuzzer may pass a null pointer for the empty input).
public func inputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    guard let data, size > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(start: data, count: size)
}

/// Stops the process so that libFuzzer reports the input as a crash: a property the
/// fuzzed code promises does not hold. (Harness code: the input is what we want reported.)
public func propertyViolated(_ message: @autoclosure () -> String) -> Never {
    FileHandle.standardError.write(Data("fuzz property violated: \(message())\n".utf8))
    abort()
}
