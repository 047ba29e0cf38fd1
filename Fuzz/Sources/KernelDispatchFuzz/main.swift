// Fuzzes the kernel's dispatch of what agents send: each input is up to `maxFramesPerInput`
// frame payloads, one per line, each parsed as `FrameDecoder` parses a payload
// (`Frame.parsePayload`) and served as `AgentSession.serve` serves a frame from an agent's
// socket: a `call` goes to `Kernel.handle(action:params:context:)` as that agent, a `trace`
// to `Kernel.recordTrace`, and the answer is encoded as the reply frame. The world is
// bootstrapped once and kept across inputs (state is where bugs hide), then replaced by a
// fresh one every `ECOLOGY_FUZZ_RESET_EVERY` inputs (default 500) so it stays small.
//
// Which agent's socket a call arrives on is the harness's choice: agent number
// `id mod 5` of the default configuration (the frame's `id` is the fuzzer's).
// The virtual clock moves 0.25 s per frame, so buckets refill and mint rounds resolve.
//
// Properties: no input traps; every reply encodes as a frame; no answer is INTERNAL (an
// agent must not be able to make the kernel fail in a way it did not foresee); the ledger
// invariants (`Kernel.checkInvariants`) hold after every input.
import EcologyCore
import EcologyKernel
import EcologyWire
import Foundation
import FuzzSupport

let maxFramesPerInput = 16
let resetEvery = Int(ProcessInfo.processInfo.environment["ECOLOGY_FUZZ_RESET_EVERY"] ?? "") ?? 500

func makeWorld() -> FuzzWorld {
    do { return try FuzzWorld() } catch { fatalError("cannot bootstrap the fuzz world: \(error)") }
}

// libFuzzer calls the entry point from one thread, one input at a time, and nothing else
// runs here: these two are only ever touched from that thread (and by `atexit` after it).
nonisolated(unsafe) var world = makeWorld()
nonisolated(unsafe) var inputsSinceReset = 0
atexit { world.remove() }

func serve(_ frame: JSONValue, in world: FuzzWorld) {
    let kernel = world.kernel
    switch frame["type"]?.stringValue {
    case "trace":
        let agent = world.agents[0]
        _ = try? kernel.recordTrace(agent: agent, kind: frame["kind"]?.stringValue ?? "note", frame["data"] ?? .null)
    case "call":
        // AgentSession ends the child on a call without an integer id and an action.
        guard let id = frame["id"]?.intValue, let action = frame["action"]?.stringValue else { return }
        let agent = world.agents[Int(id.magnitude % UInt64(world.agents.count))]
        // `llm` and `sleep` are the supervisor's own actions, not the kernel's.
        if action == "llm" || action == "sleep" { return }
        let response = kernel.handle(action: action, params: frame["params"] ?? .object([:]), context: .principal(agent))
        if case .failure(let e) = response, e.code == .internal {
            propertyViolated("\(action) by \(agent) answered INTERNAL: \(e)\nframe: \(JSONCodec.string(frame))")
        }
        let reply = Frame.encode(.object(["type": "reply", "id": .int(id), "response": response.json]))
        var decoder = FrameDecoder(maxFrameBytes: Int.max)
        decoder.append(reply)
        do {
            guard (try decoder.next()) != nil else { propertyViolated("a reply frame is incomplete") }
        } catch {
            propertyViolated("a reply frame does not decode: \(error)")
        }
    default:
        return  // AgentSession ends the child: unknown message type.
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzKernelDispatch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    for line in bytes.split(separator: 0x0A).prefix(maxFramesPerInput) {
        // A payload that is not a JSON object is a PROTOCOL_ERROR: the child is ended, the kernel never sees it.
        guard let frame = try? Frame.parsePayload(line) else { continue }
        serve(frame, in: world)
        world.clock.advance(micros: 250_000)
    }
    do {
        let report = try world.kernel.checkInvariants()
        if !report.ok { propertyViolated("ledger invariants broken: \(report.violations)") }
    } catch {
        propertyViolated("checkInvariants failed: \(error)")
    }
    inputsSinceReset += 1
    if inputsSinceReset >= resetEvery {
        world.remove()
        world = makeWorld()
        inputsSinceReset = 0
    }
    return 0
}

exit(runFuzzer(fuzzKernelDispatch))
