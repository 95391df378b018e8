using System.Runtime.InteropServices;
using SecureFedRec.Crypto.Internal;

namespace SecureFedRec.Crypto.Tests;

/// <summary>
/// <see cref="MaskStream"/> read from an offset equals the same elements of the whole-stream <see cref="MaskPrg"/> output,
/// at offsets that start inside a counter block, on block and 8-block (fused-register) boundaries and past the 4 KiB
/// chunk, for every operation and backend; plus its refusals.
/// </summary>
public sealed class MaskStreamTests
{
    private static readonly byte[] Seed = [.. Enumerable.Range(1, 32).Select(i => (byte)(i * 7))];
    private static readonly byte[] Context = "mask-stream-test"u8.ToArray();

    public static TheoryData<long, int, string, string> OffsetCases()
    {
        var data = new TheoryData<long, int, string, string>();
        long[] offsets = [0, 1, 2, 3, 4, 5, 7, 31, 32, 33, 63, 1023, 1024, 1025, 4099, 70_001];
        int[] lengths = [0, 1, 3, 4, 5, 33, 1100];
        string[] ops = ["generate", "add", "subtract"];
        int row = 0;
        foreach (long offset in offsets)
        {
            foreach (int length in lengths)
            {
                // Every (offset, length) pair on the fast backend, rotated over the operations; a third of them on the portable one too.
                string op = ops[row % ops.Length];
                data.Add(offset, length, op, "auto");
                if (row % 3 == 0)
                {
                    data.Add(offset, length, op, "portable");
                }

                row++;
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(OffsetCases))]
    public void Elements_from_an_offset_equal_the_whole_stream(long offset, int length, string op, string backend)
    {
        const int Bits = 27;
        uint mask = (1u << Bits) - 1;
        var whole = new uint[offset + length];
        MaskPrg.Generate(Seed, Context, Bits, whole);
        ReadOnlySpan<uint> expectedMask = whole.AsSpan((int)offset, length);

        var vector = new uint[length];
        for (int i = 0; i < length; i++)
        {
            vector[i] = (uint)(i * 2_654_435_761u) & mask;
        }

        uint[] original = (uint[])vector.Clone();
        using MaskStream stream = MaskStream.Open(Seed, Context, Bits, backend == "portable" ? AesCtrBackend.Portable : AesCtrBackend.Auto);
        switch (op)
        {
            case "generate":
                stream.Generate(offset, vector);
                Assert.Equal(expectedMask.ToArray(), vector);
                break;
            case "add":
                stream.AddMask(offset, vector);
                for (int i = 0; i < length; i++)
                {
                    Assert.Equal((original[i] + expectedMask[i]) & mask, vector[i]);
                }

                break;
            default:
                stream.SubtractMask(offset, vector);
                for (int i = 0; i < length; i++)
                {
                    Assert.Equal((original[i] - expectedMask[i]) & mask, vector[i]);
                }

                break;
        }
    }

    [Theory]
    [InlineData(0, 16)]
    [InlineData(1, 15)]
    [InlineData(15, 1)]
    [InlineData(15, 2)]
    [InlineData(16, 16)]
    [InlineData(17, 40)]
    [InlineData(127, 130)]
    [InlineData(128, 1)]
    [InlineData(4095, 4098)]
    [InlineData(16_385, 333)]
    public void Keystream_from_a_counter_block_and_in_block_offset_equals_the_whole_stream(long byteOffset, int length)
    {
        var words = new uint[(byteOffset + length + 3) / 4];
        MaskPrg.Generate(Seed, Context, 32, words);
        byte[] whole = MemoryMarshal.AsBytes(words.AsSpan()).ToArray(); // little-endian words = keystream bytes in order
        var actual = new byte[length];
        using MaskStream stream = MaskStream.Open(Seed, Context, 32);
        stream.Keystream(byteOffset, actual);
        Assert.Equal(whole.AsSpan((int)byteOffset, length).ToArray(), actual);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(7, 1)]
    [InlineData(1000, 5)]
    [InlineData(4096, 3)]
    public void Chunked_masking_over_many_streams_equals_whole_stream_calls(int chunk, int seedSalt)
    {
        const int D = 9_001;
        const int Bits = 20;
        byte[][] seeds = [.. Enumerable.Range(0, 5).Select(s => Enumerable.Range(0, 32).Select(i => (byte)(i + (31 * s) + seedSalt)).ToArray())];
        var expected = new uint[D];
        var actual = new uint[D];
        for (int s = 0; s < seeds.Length; s++)
        {
            if (s % 2 == 0)
            {
                MaskPrg.AddMask(seeds[s], Context, Bits, expected);
            }
            else
            {
                MaskPrg.SubtractMask(seeds[s], Context, Bits, expected);
            }
        }

        MaskStream[] streams = [.. seeds.Select(seed => MaskStream.Open(seed, Context, Bits))];
        try
        {
            for (int start = 0; start < D; start += chunk)
            {
                Span<uint> piece = actual.AsSpan(start, Math.Min(chunk, D - start));
                for (int s = 0; s < streams.Length; s++)
                {
                    if (s % 2 == 0)
                    {
                        streams[s].AddMask(start, piece);
                    }
                    else
                    {
                        streams[s].SubtractMask(start, piece);
                    }
                }
            }
        }
        finally
        {
            foreach (MaskStream stream in streams)
            {
                stream.Dispose();
            }
        }

        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(-1L, 1)]
    [InlineData(MaskPrg.MaxElementsPerStream, 1)]
    [InlineData(MaskPrg.MaxElementsPerStream - 3L, 4)]
    [InlineData(long.MaxValue, 1)]
    public void Offsets_outside_the_stream_are_refused(long offset, int length)
    {
        using MaskStream stream = MaskStream.Open(Seed, Context, 16);
        Assert.Throws<ArgumentOutOfRangeException>(() => stream.AddMask(offset, new uint[length]));
        Assert.Throws<ArgumentOutOfRangeException>(() => stream.Generate(offset, new uint[length]));
    }

    [Fact]
    public void The_last_elements_of_the_stream_are_readable()
    {
        using MaskStream stream = MaskStream.Open(Seed, Context, 16);
        var last = new uint[3];
        stream.Generate(MaskPrg.MaxElementsPerStream - 3L, last);
        Assert.All(last, v => Assert.True(v < (1u << 16)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    public void Bits_out_of_range_are_refused(int bits) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MaskStream.Open(Seed, Context, bits));

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Seed_must_be_32_bytes(int length) =>
        Assert.Throws<ArgumentException>(() => MaskStream.Open(new byte[length], Context, 8));

    [Fact]
    public void Oversized_context_is_refused() =>
        Assert.Throws<ArgumentException>(() => MaskStream.Open(Seed, new byte[MaskPrg.MaxContextLength + 1], 8));

    [Fact]
    public void Disposed_stream_is_refused_and_redacted()
    {
        MaskStream stream = MaskStream.Open(Seed, Context, 8);
        stream.Dispose();
        stream.Dispose();
        Assert.Throws<ObjectDisposedException>(() => stream.AddMask(0, new uint[4]));
        Assert.Throws<ObjectDisposedException>(() => stream.Keystream(0, new byte[4]));
        Assert.Contains("disposed", stream.ToString(), StringComparison.Ordinal);
        Assert.Contains("redacted", stream.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_secret_bytes_seed_opens_the_same_stream()
    {
        using SecretBytes seed = SecretBytes.Import(Seed);
        using MaskStream a = MaskStream.Open(seed, Context, 32);
        using MaskStream b = MaskStream.Open(Seed, Context, 32);
        var x = new uint[40];
        var y = new uint[40];
        a.Generate(9, x);
        b.Generate(9, y);
        Assert.Equal(x, y);
    }
}
