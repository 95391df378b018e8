using System.Buffers;
using System.Runtime.InteropServices;
using Google.Protobuf;
using SecureFedRec.Coordinator.Grpc;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds.Server;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Integration.Tests.Units;

/// <summary>
/// The coordinator's one-copy decoding of SubmitPhase (<see cref="SubmitPayloads"/>): the same messages as the protobuf
/// parser for every input, the masked vector aliasing the one copy of the payload, and the journal writing that copy.
/// </summary>
public sealed class SubmitPayloadTests
{
    private static ClientToServer Masked(ulong round, uint client, int words)
    {
        byte[] vector = new byte[4 * words];
        for (int i = 0; i < vector.Length; i++)
        {
            vector[i] = (byte)(i * 7);
        }

        return new ClientToServer { MaskedInput = new MaskedInput { RoundNumber = round, ClientId = client, MaskedVector = ByteString.CopyFrom(vector) } };
    }

    private static SubmitPhaseRequest Request(ClientToServer message) =>
        new() { RoundId = 12345678901, Phase = Phase.MaskedInput, Payload = message.ToByteString() };

    /// <summary>A sequence of small segments, as Kestrel hands a request body over.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segment)
    {
        Chunk? first = null;
        Chunk? last = null;
        for (int at = 0; at < bytes.Length; at += segment)
        {
            var chunk = new Chunk(bytes.AsMemory(at, Math.Min(segment, bytes.Length - at)), at);
            first ??= chunk;
            last?.Link(chunk);
            last = chunk;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    [Theory]
    [InlineData(1, 1, 0)]
    [InlineData(7, 200, 1000)]
    [InlineData(ulong.MaxValue, uint.MaxValue, 100_000)]
    public void A_masked_input_decodes_as_the_parser_decodes_it_with_its_vector_in_the_one_copy(ulong round, uint client, int words)
    {
        ClientToServer message = Masked(round, client, words);
        byte[] wire = Request(message).ToByteArray();
        foreach (ReadOnlySequence<byte> sequence in new[] { new ReadOnlySequence<byte>(wire), Segmented(wire, 4096), Segmented(wire, 3) })
        {
            SubmitPhaseRequest parsed = SubmitPayloads.ParseRequest(sequence);
            Assert.Equal(SubmitPhaseRequest.Parser.ParseFrom(wire), parsed);
            byte[] buffer = Assert.IsType<byte[]>(SubmitPayloads.BufferOf(parsed));
            Assert.Equal(SubmitPayloads.HeaderBytes + parsed.Payload.Length, buffer.Length);

            ClientToServer decoded = SubmitPayloads.ParseMessage(parsed.Payload);
            Assert.Equal(message, decoded);
            if (words > 0)
            {
                Assert.True(MemoryMarshal.TryGetArray(decoded.MaskedInput.MaskedVector.Memory, out ArraySegment<byte> vector));
                Assert.Same(buffer, vector.Array);
            }

            // The journal entry is that array, with its header in front, and decodes to the message.
            RoundJournalEntry.UseReceivedEncoding(decoded, buffer);
            RoundJournalEntry entry = RoundJournalEntry.ForMessage(3, 9, Phase.MaskedInput, decoded);
            Assert.True(MemoryMarshal.TryGetArray(entry.Body, out ArraySegment<byte> body));
            Assert.Same(buffer, body.Array);
            Assert.Equal(RoundJournalEntry.ForMessage(3, 9, Phase.MaskedInput, message).Body.ToArray(), entry.Body.ToArray());
            Assert.True(entry.TryReadMessage(out int number, out Phase phase, out ClientToServer? replayed));
            Assert.Equal((9, Phase.MaskedInput, message), (number, phase, replayed));
        }
    }

    public static TheoryData<string, byte[]> OtherShapes()
    {
        byte[] masked = Masked(5, 3, 4).ToByteArray();
        var data = new TheoryData<string, byte[]>
        {
            { "advertise keys", new ClientToServer { AdvertiseKeys = new AdvertiseKeys { RoundNumber = 2 } }.ToByteArray() },
            { "abort", new ClientToServer { Abort = new ClientAbort() }.ToByteArray() },
            { "empty", [] },
            // masked_input twice: the parser merges the two.
            { "masked input twice", [.. masked, .. Masked(6, 4, 2).ToByteArray()] },
            // An unknown field inside the masked input (field 9, varint 1): the parser keeps it.
            { "unknown field", [0x1A, (byte)(masked[1] + 2), .. masked.AsSpan(2), 0x48, 0x01] },
            // client_id above 2^32 (the parser truncates it).
            { "wide client id", [0x1A, 0x06, 0x10, 0x80, 0x80, 0x80, 0x80, 0x10] },
            // round_number twice (the parser takes the last).
            { "round twice", [0x1A, 0x04, 0x08, 0x01, 0x08, 0x02] },
            // The vector in front of the other fields.
            { "fields reordered", [0x1A, 0x0A, 0x1A, 0x04, 1, 2, 3, 4, 0x10, 0x03, 0x08, 0x05] },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(OtherShapes))]
    public void Any_other_shape_decodes_exactly_as_the_parser_decodes_it(string shape, byte[] payload)
    {
        Assert.False(string.IsNullOrEmpty(shape));
        Assert.Equal(ClientToServer.Parser.ParseFrom(payload), SubmitPayloads.ParseMessage(ByteString.CopyFrom(payload)));
        byte[] wire = new SubmitPhaseRequest { RoundId = 1, Phase = Phase.ShareKeys, Payload = ByteString.CopyFrom(payload) }.ToByteArray();
        Assert.Equal(SubmitPhaseRequest.Parser.ParseFrom(wire), SubmitPayloads.ParseRequest(new ReadOnlySequence<byte>(wire)));
    }

    [Theory]
    [InlineData(new byte[] { 0x08, 0x01, 0x08, 0x02 })] // round_id twice
    [InlineData(new byte[] { 0x08, 0x01, 0x28, 0x01 })] // unknown field 5
    [InlineData(new byte[] { 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // phase -1
    [InlineData(new byte[] { 0x1A, 0x01, 0x00, 0x1A, 0x01, 0x01 })] // payload twice
    public void A_request_of_another_shape_decodes_as_the_parser_decodes_it_without_a_buffer(byte[] wire)
    {
        SubmitPhaseRequest parsed = SubmitPayloads.ParseRequest(new ReadOnlySequence<byte>(wire));
        Assert.Equal(SubmitPhaseRequest.Parser.ParseFrom(wire), parsed);
        Assert.Null(SubmitPayloads.BufferOf(parsed));
    }

    [Theory]
    [InlineData(new byte[] { 0x1A, 0x05, 0x01 })] // payload longer than the request
    [InlineData(new byte[] { 0x08, 0x80 })] // truncated varint
    [InlineData(new byte[] { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })] // 11-byte varint
    public void A_malformed_request_is_refused_as_the_parser_refuses_it(byte[] wire)
    {
        Assert.Throws<InvalidProtocolBufferException>(() => SubmitPhaseRequest.Parser.ParseFrom(wire));
        Assert.Throws<InvalidProtocolBufferException>(() => SubmitPayloads.ParseRequest(new ReadOnlySequence<byte>(wire)));
    }

    [Fact]
    public void A_malformed_masked_input_is_refused_as_the_parser_refuses_it()
    {
        byte[] truncated = Masked(5, 3, 4).ToByteArray()[..^2];
        Assert.Throws<InvalidProtocolBufferException>(() => ClientToServer.Parser.ParseFrom(truncated));
        Assert.Throws<InvalidProtocolBufferException>(() => SubmitPayloads.ParseMessage(ByteString.CopyFrom(truncated)));
    }

    [Fact]
    public void A_lent_encoding_of_another_length_is_not_used()
    {
        ClientToServer message = Masked(5, 3, 4);
        byte[] wrong = new byte[SubmitPayloads.HeaderBytes + message.CalculateSize() + 1];
        RoundJournalEntry.UseReceivedEncoding(message, wrong);
        RoundJournalEntry entry = RoundJournalEntry.ForMessage(1, 3, Phase.MaskedInput, message);
        Assert.True(MemoryMarshal.TryGetArray(entry.Body, out ArraySegment<byte> body));
        Assert.NotSame(wrong, body.Array);
        Assert.True(entry.TryReadMessage(out _, out _, out ClientToServer? replayed));
        Assert.Equal(message, replayed);
    }

    private sealed class Chunk : ReadOnlySequenceSegment<byte>
    {
        public Chunk(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void Link(Chunk next) => Next = next;
    }
}
