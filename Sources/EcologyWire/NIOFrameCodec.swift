import NIOCore
import EcologyCore

/// A SwiftNIO inbound decoder for long-lived child sockets: bytes in, one `JSONValue`
/// object per frame out. It shares `FrameDecoder`'s rules (oversized header rejected
/// before buffering, UTF-8, JSON object) and throws `FrameError`, which closes the channel.
public final class JSONFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = JSONValue
    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int = Frame.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    public func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return .needMoreData
        }
        guard Int(length) <= maxFrameBytes else {
            throw FrameError.oversized(length: Int(length), limit: maxFrameBytes)
        }
        guard buffer.readableBytes >= Frame.headerBytes + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: Frame.headerBytes)
        let payload = buffer.readBytes(length: Int(length))!
        context.fireChannelRead(wrapInboundOut(try Frame.parsePayload(payload)))
        return .continue
    }

    public func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 { throw FrameError.truncated(buffered: buffer.readableBytes) }
        return .needMoreData
    }
}

/// The outbound half: one `JSONValue` object in, one frame out.
public final class JSONFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = JSONValue
    public init() {}

    public func encode(data: JSONValue, out: inout ByteBuffer) throws {
        out.writeBytes(Frame.encode(data))
    }
}
