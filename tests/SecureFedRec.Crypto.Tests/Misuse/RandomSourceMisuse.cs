using System.Security.Cryptography;

namespace SecureFedRec.Crypto.Tests.Misuse;

/// <summary>RandomSource and the deterministic DRBG: bounds, seed lengths, dispose, and the stream recomputed from its definition.</summary>
public sealed class RandomSourceMisuse
{
    [Fact]
    public void NextBelow_zero_throws() => Assert.Throws<ArgumentOutOfRangeException>(() => RandomSource.System.NextBelow(0));

    [Theory]
    [InlineData(1UL)]
    [InlineData(7UL)]
    [InlineData((1UL << 63) + 1)]
    [InlineData(ulong.MaxValue)]
    public void NextBelow_stays_below(ulong bound)
    {
        using var rng = DeterministicRandomSource.FromTestSeed(bound);
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(rng.NextBelow(bound) < bound);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Deterministic_seed_must_be_32_bytes(int length) =>
        Assert.Throws<ArgumentException>(() => new DeterministicRandomSource(new byte[length]));

    [Fact]
    public void Deterministic_after_dispose_throws()
    {
        var rng = DeterministicRandomSource.FromTestSeed(1);
        rng.Dispose();
        Assert.Throws<ObjectDisposedException>(() => rng.NextUInt64());
    }

    // Definition pinned for other implementations: the stream is AES-256-CTR(key = seed, counter block from 0).
    [Fact]
    public void Deterministic_stream_is_aes256_ctr_of_the_seed_from_counter_zero()
    {
        byte[] seed = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
        byte[] counters = new byte[16 * 200];
        for (int i = 0; i < 200; i++)
        {
            counters[(i * 16) + 15] = (byte)i;
        }

        using var aes = Aes.Create();
        aes.Key = seed;
        byte[] expected = aes.EncryptEcb(counters, PaddingMode.None);

        // Read in irregular pieces (crossing the internal buffer and the direct path) and compare with the one stream.
        using var rng = new DeterministicRandomSource(seed);
        byte[] actual = new byte[expected.Length];
        int offset = 0;
        foreach (int piece in new[] { 1, 3, 8, 100, 1024, 2, 5, 40 })
        {
            rng.Fill(actual.AsSpan(offset, piece));
            offset += piece;
        }

        rng.Fill(actual.AsSpan(offset));
        Assert.Equal(Hex.E(expected), Hex.E(actual));
    }

    [Fact]
    public void NextBelow_is_uniform_chi_square()
    {
        using var rng = DeterministicRandomSource.FromTestSeed(99);
        const int Bound = 6;
        const int N = 60_000;
        var counts = new int[Bound];
        for (int i = 0; i < N; i++)
        {
            counts[rng.NextBelow(Bound)]++;
        }

        double chi = counts.Sum(c => Math.Pow(c - (N / (double)Bound), 2) / (N / (double)Bound));
        Assert.True(chi < Stats.ChiSquareCritical(Bound - 1), $"chi² = {chi}");
    }
}
