using System.Buffers;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Coordinator.Grpc;

/// <summary>
/// Submitted client messages parsed with one copy of their bytes instead of three. A <c>SubmitPhaseRequest</c> is
/// decoded here (<see cref="ParseRequest"/>): its payload is copied once out of Kestrel's buffers into an array with
/// <see cref="HeaderBytes"/> free bytes in front (the round journal's message header), and the request's payload
/// aliases that array. A masked input in it is decoded in place (<see cref="ParseMessage"/>: its vector aliases the same
/// array), and the journal writes that array as the message's entry (<see cref="SecureFedRec.Rounds.Server.RoundJournalEntry.UseReceivedEncoding"/>)
/// instead of encoding a copy. Anything not in the plain shape decoded here (a field twice, an unknown field, a
/// non-minimal tag) goes to the protobuf parser, which gives the same message.
/// </summary>
/// <remarks>
/// Why (docs/measurements.md, networked n = 1,000): the protobuf parser copies a bytes field, so a masked input of 4·d
/// bytes was held as the request's payload, the parsed message's vector and the journal entry's encoding; a gen1
/// collection during the store write promoted all three into gen2, where they stayed as garbage until a full collection.
/// The arrays aliased here are never written after parsing (the header bytes in front are the journal's alone).
/// Thread-safe (no state beyond a weak table keyed by request).
/// </remarks>
internal static class SubmitPayloads
{
    /// <summary>Free bytes in front of the payload: the journal entry's u32 client number ‖ u32 phase.</summary>
    public const int HeaderBytes = 8;

    private static readonly ConditionalWeakTable<SubmitPhaseRequest, byte[]> s_buffers = new();

    /// <summary>Decodes a <c>SubmitPhaseRequest</c> (the marshaller's parse); throws <see cref="InvalidProtocolBufferException"/> as the parser does.</summary>
    public static SubmitPhaseRequest ParseRequest(ReadOnlySequence<byte> payload) => TryParseRequest(payload) ?? SubmitPhaseRequest.Parser.ParseFrom(payload);

    /// <summary>The array a request's payload was copied into (journal header room in front), or null when the parser made it.</summary>
    public static byte[]? BufferOf(SubmitPhaseRequest request) => s_buffers.TryGetValue(request, out byte[]? buffer) ? buffer : null;

    /// <summary>
    /// The <c>ClientToServer</c> message of a payload: a masked input decoded in place (its vector aliases
    /// <paramref name="payload"/>), any other message by the protobuf parser. Throws <see cref="InvalidProtocolBufferException"/>.
    /// </summary>
    public static ClientToServer ParseMessage(ByteString payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return TryParseMaskedInput(payload.Memory) ?? ClientToServer.Parser.ParseFrom(payload);
    }

    /// <summary>The plain shape: fields 1 (varint), 2 (varint) and 3 (bytes), each at most once, nothing else; else null.</summary>
    internal static SubmitPhaseRequest? TryParseRequest(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        ulong roundId = 0;
        ulong phase = 0;
        byte[]? buffer = null;
        bool seenRound = false, seenPhase = false;
        while (!reader.End)
        {
            if (!TryReadVarint(ref reader, out ulong tag))
            {
                return null;
            }

            switch (tag)
            {
                case 0x08 when !seenRound:
                    if (!TryReadVarint(ref reader, out roundId))
                    {
                        return null;
                    }

                    seenRound = true;
                    break;
                case 0x10 when !seenPhase:
                    if (!TryReadVarint(ref reader, out phase) || phase > int.MaxValue)
                    {
                        return null;
                    }

                    seenPhase = true;
                    break;
                case 0x1A when buffer is null:
                    if (!TryReadVarint(ref reader, out ulong length) || length > (ulong)reader.Remaining || length > int.MaxValue - HeaderBytes)
                    {
                        return null;
                    }

                    buffer = GC.AllocateUninitializedArray<byte>(HeaderBytes + (int)length);
                    buffer.AsSpan(0, HeaderBytes).Clear();
                    if (!reader.TryCopyTo(buffer.AsSpan(HeaderBytes)))
                    {
                        return null;
                    }

                    reader.Advance((long)length);
                    break;
                default:
                    return null;
            }
        }

        var request = new SubmitPhaseRequest { RoundId = roundId, Phase = (Phase)(int)phase };
        if (buffer is not null)
        {
            request.Payload = UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(HeaderBytes));
            s_buffers.AddOrUpdate(request, buffer);
        }

        return request;
    }

    /// <summary>
    /// A <c>ClientToServer</c> that is exactly one <c>masked_input</c> (field 3) whose fields 1 (varint), 2 (varint, at most
    /// 2^32 − 1) and 3 (bytes) occur at most once each and nothing else, its vector aliasing <paramref name="encoded"/>; else null.
    /// </summary>
    internal static ClientToServer? TryParseMaskedInput(ReadOnlyMemory<byte> encoded)
    {
        ReadOnlySpan<byte> span = encoded.Span;
        int at = 0;
        if (!TryReadVarint(span, ref at, out ulong outer) || outer != 0x1A || !TryReadVarint(span, ref at, out ulong length) || length != (ulong)(span.Length - at))
        {
            return null;
        }

        ulong round = 0;
        ulong client = 0;
        int vectorAt = -1;
        int vectorLength = 0;
        bool seenRound = false, seenClient = false;
        while (at < span.Length)
        {
            if (!TryReadVarint(span, ref at, out ulong tag))
            {
                return null;
            }

            switch (tag)
            {
                case 0x08 when !seenRound:
                    if (!TryReadVarint(span, ref at, out round))
                    {
                        return null;
                    }

                    seenRound = true;
                    break;
                case 0x10 when !seenClient:
                    if (!TryReadVarint(span, ref at, out client) || client > uint.MaxValue)
                    {
                        return null;
                    }

                    seenClient = true;
                    break;
                case 0x1A when vectorAt < 0:
                    if (!TryReadVarint(span, ref at, out ulong bytes) || bytes > (ulong)(span.Length - at))
                    {
                        return null;
                    }

                    (vectorAt, vectorLength) = (at, (int)bytes);
                    at += vectorLength;
                    break;
                default:
                    return null;
            }
        }

        return new ClientToServer
        {
            MaskedInput = new MaskedInput
            {
                RoundNumber = round,
                ClientId = (uint)client,
                MaskedVector = vectorAt < 0 ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(encoded.Slice(vectorAt, vectorLength)),
            },
        };
    }

    /// <summary>A base-128 varint of at most 10 bytes whose last byte fits 64 bits; false otherwise (the parser decides then).</summary>
    private static bool TryReadVarint(ReadOnlySpan<byte> span, ref int at, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (at >= span.Length)
            {
                return false;
            }

            byte b = span[at++];
            if (shift == 63 && b > 1)
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryReadVarint(ref SequenceReader<byte> reader, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (!reader.TryRead(out byte b) || (shift == 63 && b > 1))
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
