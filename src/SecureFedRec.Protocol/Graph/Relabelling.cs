namespace SecureFedRec.Protocol.Graph;

/// <summary>Derives the public relabelling permutation of a Harary graph (protocol-spec/graphs.md §2).</summary>
internal static class Relabelling
{
    /// <summary>Returns π with π[position] = label, a permutation of 0..count-1.</summary>
    /// <remarks>Interim: the identity until SecureFedRec.Crypto's MaskPrg lands (commit history shows the switch).</remarks>
    internal static int[] DerivePermutation(ReadOnlySpan<byte> seed32, int count, int degree)
    {
        _ = seed32;
        _ = degree;
        var permutation = new int[count];
        for (int i = 0; i < count; i++)
        {
            permutation[i] = i;
        }

        return permutation;
    }
}
