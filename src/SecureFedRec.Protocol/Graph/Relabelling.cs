using SecureFedRec.Crypto;

namespace SecureFedRec.Protocol.Graph;

/// <summary>Derives the public relabelling permutation of a Harary graph (normative: protocol-spec/graphs.md §2).</summary>
/// <remarks>
/// The seed is public (the protocol derives it from the session id), so nothing here is secret; the derived stream key
/// is still wiped by <see cref="DeterministicRandomSource.Dispose"/>. A deterministic source is the right tool here even
/// outside tests: every party must compute the same permutation, and its unpredictability before the session is fixed
/// comes from the seed, not from local randomness.
/// </remarks>
internal static class Relabelling
{
    /// <summary>HKDF purpose of the permutation stream key.</summary>
    internal const string Purpose = "harary-relabel";

    /// <summary>Returns π with π[position] = label, a uniformly shuffled permutation of 0..count-1.</summary>
    internal static int[] DerivePermutation(ReadOnlySpan<byte> seed32, int count, int degree)
    {
        var permutation = new int[count];
        DerivePermutation(seed32, degree, permutation);
        return permutation;
    }

    /// <summary>Writes π into <paramref name="permutation"/> (its length is the count n), for a caller's pooled buffer.</summary>
    internal static void DerivePermutation(ReadOnlySpan<byte> seed32, int degree, Span<int> permutation)
    {
        int count = permutation.Length;
        Span<byte> streamKey = stackalloc byte[32];
        Hkdf.DeriveKey(
            seed32,
            ReadOnlySpan<byte>.Empty,
            DomainLabel.For(Purpose).Add((uint)count).Add((uint)degree),
            streamKey);

        for (int i = 0; i < count; i++)
        {
            permutation[i] = i;
        }

        using var stream = new DeterministicRandomSource(streamKey);
        streamKey.Clear();

        // Fisher–Yates (Knuth, TAOCP vol. 2, Algorithm 3.4.2P), from the top down; NextBelow is unbiased.
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)stream.NextBelow((ulong)i + 1);
            (permutation[i], permutation[j]) = (permutation[j], permutation[i]);
        }
    }
}
