using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Internal;

namespace SecureFedRec.Protocol.Tests;

/// <summary>The streamed hashes a client uses over an n-entry key list and n reveals give the bytes of the encoder's.</summary>
public sealed class StreamedHashTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(3, true)]
    [InlineData(40, true)]
    [InlineData(40, false)]
    [InlineData(200, true)]
    [InlineData(1000, true)]
    public void Session_id_and_relabel_seed_match_the_encoder(int count, bool commitments)
    {
        using var rng = DeterministicRandomSource.FromTestSeed((ulong)(count * 2) + (commitments ? 1UL : 0UL));
        byte[] digest = Bytes(rng, 32);
        var entries = new List<Derivations.KeyEntry>();
        var reveals = new List<byte[]>();
        using var session = new Derivations.StreamedHash(Derivations.SessionPurpose, digest);
        for (int id = 1; id <= count; id++)
        {
            var entry = new Derivations.KeyEntry(id * 3, Bytes(rng, 32), Bytes(rng, 32), commitments ? Bytes(rng, 32) : null);
            entries.Add(entry);
            session.AddKeyEntry(entry.ClientId, entry.CipherPublicKey, entry.MaskPublicKey, entry.Commitment);
            reveals.Add(Bytes(rng, 32));
        }

        byte[] sessionId = session.Finish();
        Assert.Equal(Derivations.SessionId(digest, entries), sessionId);
        byte[] expectedEncoder = Encoder.For(Derivations.SessionPurpose).Add(digest).ToArray();
        Assert.StartsWith(Convert.ToHexString(Encoder.HeaderOf(Derivations.SessionPurpose)), Convert.ToHexString(expectedEncoder), StringComparison.Ordinal);

        using var seed = new Derivations.StreamedHash(Derivations.RelabelSeedPurpose, sessionId);
        foreach (byte[] reveal in reveals)
        {
            seed.AddPart(reveal);
        }

        Assert.Equal(Derivations.RelabelSeed(sessionId, reveals), seed.Finish());
    }

    [Fact]
    public void Commitments_on_one_reused_hash_match_the_encoder()
    {
        using var rng = DeterministicRandomSource.FromTestSeed(17);
        byte[] digest = Bytes(rng, 32);
        using var hash = new Derivations.StreamedHash();
        Span<byte> commitment = stackalloc byte[32];
        for (int id = 1; id < 50; id++)
        {
            byte[] seed = Bytes(rng, 32);
            hash.Commitment(digest, id, seed, commitment);
            Assert.Equal(Derivations.RelabelCommitment(digest, id, seed), commitment.ToArray());
        }
    }

    [Theory]
    [InlineData(Derivations.StreamedHash.FlushBytes - 8)]
    [InlineData(Derivations.StreamedHash.FlushBytes - 4)]
    [InlineData(Derivations.StreamedHash.FlushBytes)]
    [InlineData(Derivations.StreamedHash.FlushBytes + 1)]
    [InlineData(3 * Derivations.StreamedHash.FlushBytes)]
    public void Parts_across_and_beyond_the_buffer_match_the_encoder(int longPart)
    {
        using var rng = DeterministicRandomSource.FromTestSeed((ulong)longPart);
        byte[] first = Bytes(rng, 32);
        var parts = new List<byte[]> { Bytes(rng, 5), Bytes(rng, longPart), Bytes(rng, 0), Bytes(rng, 33), Bytes(rng, longPart / 2) };
        using var hash = new Derivations.StreamedHash(Derivations.RelabelSeedPurpose, first);
        foreach (byte[] part in parts)
        {
            hash.AddPart(part);
        }

        Assert.Equal(Derivations.RelabelSeed(first, parts), hash.Finish());

        // Finish resets: the same object hashes a second encoding from scratch (no header: the parts alone).
        hash.AddPart(parts[1]);
        Encoder expected = Encoder.For("x");
        byte[] bare = expected.Add(parts[1]).ToArray()[Encoder.HeaderOf("x").Length..];
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(bare), hash.Finish());
    }

    private static byte[] Bytes(RandomSource rng, int length)
    {
        var bytes = new byte[length];
        rng.Fill(bytes);
        return bytes;
    }
}
