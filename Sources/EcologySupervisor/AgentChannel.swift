import EcologyCore
import EcologyWire
import NIOCore
import NIOPosix

/// An agent child's socket, served by SwiftNIO: the supervisor's end of the child's
/// socketpair, taken over from its `AgentProcess` and registered on one of the shared
/// event loops. Frames are decoded by `EcologyWire`'s `JSONFrameDecoder` (the frame limit,
/// and a stream that stays failed after its first bad frame), then handed to the session.
///
/// Backpressure: the channel reads only when asked (`autoRead` off). The session asks for
/// the next read only when it has answered every frame it holds, so an agent that floods
/// frames is served one request at a time, and the supervisor holds at most one read's
/// worth of its frames (the receive allocator's largest buffer) plus one frame being built
/// (at most `maxFrameBytes`, refused on its header when larger).
enum AgentChannel {
    /// Registers `socket` (whose ownership passes to NIO: it closes it with the channel).
    static func open(socket: Int32, maxFrameBytes: Int, session: AgentSession) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: SupervisorThreads.eventLoops)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture(withResultOf: {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(JSONFrameDecoder(maxFrameBytes: maxFrameBytes)))
                    try channel.pipeline.syncOperations.addHandler(AgentFrameHandler(session: session))
                })
            }
            .withConnectedSocket(socket)
    }
}

/// The last handler of an agent's pipeline: decoded frames to the session, and the end of
/// the stream (EOF, a reset, a frame the decoder refused) to the session's end.
final class AgentFrameHandler: ChannelInboundHandler {
    typealias InboundIn = JSONValue

    private let session: AgentSession

    init(session: AgentSession) { self.session = session }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        session.received(unwrapInboundIn(data))
    }

    /// A read that completed no frame (half of one arrived) asks for the rest.
    func channelReadComplete(context: ChannelHandlerContext) {
        if session.readComplete() { context.read() }
    }

    /// A malformed, oversized or truncated frame (`FrameError`): the agent's channel ends
    /// with PROTOCOL_ERROR; nothing of it reaches the supervisor. Any other error (a reset
    /// socket) ends the channel as a close does.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let frameError = error as? FrameError { session.protocolViolation("\(frameError)") }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.channelClosed()
    }
}
