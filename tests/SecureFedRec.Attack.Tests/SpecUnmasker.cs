using System.Security.Cryptography;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Transport;

namespace SecureFedRec.Attack.Tests;

/// <summary>
/// What a coordinator does with what it collected to unmask one client's input: written from protocol-spec/secagg.md
/// §3–§5 with the public primitives only (no SecureFedRec.Protocol code), as an auditor's attacker would be. Needs the
/// victim's masked input y_v, t shares of its self-mask seed b_v and t shares of its mask private key s_v; then
/// x_v = y_v − PRG(b_v, self(v)) − Σ_{u &gt; v} PRG(s_vu, pair) + Σ_{u &lt; v} PRG(s_vu, pair) mod 2^b over the
/// neighbours u the victim masked with (full graph: every other member of U2 as the victim saw it).
/// </summary>
internal static class SpecUnmasker
{
    /// <summary>Shares of one secret of <paramref name="owner"/> the coordinator received, by holder id (distinct holders).</summary>
    public static Dictionary<int, byte[]> SharesOf(Transcript transcript, ulong roundId, int owner, ShareKind kind)
    {
        var shares = new Dictionary<int, byte[]>();
        foreach ((int holder, ClientToServer message) in transcript.Submissions(roundId))
        {
            if (message.MessageCase != ClientToServer.MessageOneofCase.Unmasking)
            {
                continue;
            }

            foreach (RevealedShare share in message.Unmasking.Shares.Where(s => s.OwnerId == (uint)owner && s.Kind == kind))
            {
                shares[holder] = share.Value.ToByteArray();
            }
        }

        return shares;
    }

    /// <summary>
    /// Tries to unmask <paramref name="victim"/>'s input from <paramref name="transcript"/>; null when the coordinator
    /// lacks the masked input or t shares of either secret (what every defended attack must leave it with).
    /// </summary>
    public static uint[]? TryUnmask(Transcript transcript, ulong roundId, int victim)
    {
        RoundParameters p = transcript.SentTo(victim, roundId).First(m => m.MessageCase == ServerToClient.MessageOneofCase.BeginRound).BeginRound.Parameters;
        if (p.GraphKind != GraphKind.Full)
        {
            throw new NotSupportedException("The attack suite runs full-graph rounds.");
        }

        MaskedInput? masked = transcript.SentBy(victim, roundId).FirstOrDefault(m => m.MessageCase == ClientToServer.MessageOneofCase.MaskedInput)?.MaskedInput;
        Dictionary<int, byte[]> seedShares = SharesOf(transcript, roundId, victim, ShareKind.SelfMaskSeed);
        Dictionary<int, byte[]> keyShares = SharesOf(transcript, roundId, victim, ShareKind.MaskPrivateKey);
        int t = (int)p.Threshold;
        if (masked is null || seedShares.Count < t || keyShares.Count < t)
        {
            return null;
        }

        ShareKeysRequest keys = transcript.SentTo(victim, roundId).First(m => m.MessageCase == ServerToClient.MessageOneofCase.ShareKeysRequest).ShareKeysRequest;
        MaskedInputRequest fromNeighbours = transcript.SentTo(victim, roundId).First(m => m.MessageCase == ServerToClient.MessageOneofCase.MaskedInputRequest).MaskedInputRequest;
        byte[] sessionId = SessionId(p, keys);
        int bits = (int)p.Bits;
        uint[] x = new uint[masked.MaskedVector.Length / 4];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(masked.MaskedVector.Span[(4 * i)..]);
        }

        Span<byte> secret = stackalloc byte[32];
        try
        {
            if (!Reconstruct(seedShares, t, secret))
            {
                return null;
            }

            MaskPrg.SubtractMask(secret, DomainLabel.For("secagg/self-mask").Add(sessionId).Add((uint)victim).Span, bits, x);
            if (!Reconstruct(keyShares, t, secret))
            {
                return null;
            }

            KeyAgreementAlgorithm suite = KeyAgreementAlgorithm.FromId((Crypto.KeyAgreementSuite)(int)p.Suite);
            using PrivateKey maskKey = suite.ImportPrivateKey(secret);
            Span<byte> pairSeed = stackalloc byte[32];
            foreach (uint u in fromNeighbours.Shares.Select(s => s.PeerId))
            {
                byte[] peerKey = keys.Keys.Single(k => k.ClientId == u).MaskPublicKey.ToByteArray();
                if (!suite.TryAgree(maskKey, peerKey, out SharedSecret? shared))
                {
                    return null;
                }

                using (shared)
                {
                    uint lo = Math.Min(u, (uint)victim), hi = Math.Max(u, (uint)victim);
                    Hkdf.DeriveKey(shared, sessionId, DomainLabel.For("secagg/pairwise-mask-seed").Add(lo).Add(hi), pairSeed);
                    ReadOnlySpan<byte> context = DomainLabel.For("secagg/pairwise-mask").Add(sessionId).Add(lo).Add(hi).Span;
                    if (u > (uint)victim)
                    {
                        MaskPrg.SubtractMask(pairSeed, context, bits, x);
                    }
                    else
                    {
                        MaskPrg.AddMask(pairSeed, context, bits, x);
                    }
                }
            }

            return x;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>P and S of secagg.md §4, from the BeginRound and the key list the victim received.</summary>
    public static byte[] SessionId(RoundParameters p, ShareKeysRequest keys)
    {
        byte[] ids = new byte[4 * p.ClientIds.Count];
        for (int i = 0; i < p.ClientIds.Count; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ids.AsSpan(4 * i), p.ClientIds[i]);
        }

        byte[] digest = SHA256.HashData(DomainLabel.For("secagg/round-parameters").Add(p.RoundNumber).Add(ids).Add(p.Threshold)
            .Add(p.Dimension).Add(p.Bits).Add((uint)p.ThreatMode).Add((uint)p.Suite).Add((uint)p.GraphKind).Add(p.GraphDegree)
            .Add(p.Binding.Span).Span);
        DomainLabel session = DomainLabel.For("secagg/session-id").Add(digest);
        foreach (AdvertisedKey key in keys.Keys.OrderBy(k => k.ClientId))
        {
            session = session.Add(key.ClientId).Add(key.CipherPublicKey.Span).Add(key.MaskPublicKey.Span);
        }

        return SHA256.HashData(session.Span);
    }

    /// <summary>The victim's encoded input as its SDK computed it (its DP randomness seeded by the test).</summary>
    public static uint[] EncodedInput(RoundContract contract, double[] update, int noiseSeed)
    {
        using var rng = DeterministicRandomSource.FromTestSeed((ulong)noiseSeed);
        return new Privacy.Mechanism.DistributedDiscreteGaussianMechanism(contract.Dp).Encode(update, contract.RotationSeed(), rng);
    }

    /// <summary>The contract the coordinator announced to the client numbered <paramref name="clientNumber"/>.</summary>
    public static RoundContract ContractSentTo(LyingCoordinator coordinator, string caller, ulong roundId) =>
        coordinator.Invitations[(caller, roundId)].Contract;

    private static bool Reconstruct(Dictionary<int, byte[]> shares, int t, Span<byte> secret)
    {
        var imported = shares.OrderBy(s => s.Key).Take(t).Select(s => ShamirShare.Import(s.Key, s.Value)).ToList();
        try
        {
            return Shamir.TryReconstruct(imported, t, secret) == ShamirResult.Ok;
        }
        finally
        {
            imported.ForEach(s => s.Dispose());
        }
    }
}
