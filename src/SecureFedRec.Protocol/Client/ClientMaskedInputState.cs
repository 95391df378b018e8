using System.Buffers.Binary;
using Google.Protobuf;
using SecureFedRec.Protocol.Internal;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Client;

/// <summary>
/// Round 2 (Bonawitz Fig. 4 "MaskedInputCollection"): accepts the shares addressed to this client (senders U2 ∩ N(u)),
/// decrypts and checks each, and sends y = x + PRG(b_u) + Σ_{v∈U2∩N(u), v&gt;u} PRG(s_uv) − Σ_{v&lt;u} PRG(s_uv) mod 2^b,
/// adding each mask in place into the wire-encoded buffer (no temporary of size d per mask, no copy for encoding).
/// </summary>
public sealed class ClientMaskedInputState : ClientState
{
    internal ClientMaskedInputState(ClientContext context)
        : base(context)
    {
    }

    /// <inheritdoc />
    public override Phase Phase => Phase.MaskedInput;

    private protected override ClientStep OnMaskedInputRequest(MaskedInputRequest message)
    {
        SecAggParameters p = Context.P;
        if (message.RoundNumber != p.RoundNumber)
        {
            return Abort(ClientAbortReason.WrongSession);
        }

        var keyNeighbours = new HashSet<int>(Context.KeyNeighbours);
        uint previous = 0;
        foreach (EncryptedShare share in message.Shares)
        {
            if (share.PeerId <= previous || share.PeerId > int.MaxValue || !keyNeighbours.Contains((int)share.PeerId))
            {
                return Abort(ClientAbortReason.UnknownOrDuplicateClient);
            }

            previous = share.PeerId;
        }

        if (message.Shares.Count + 1 < p.Threshold)
        {
            return Abort(ClientAbortReason.TooFewSurvivors);
        }

        var received = new List<(int Sender, byte[] SeedShare, byte[] KeyShare)>(message.Shares.Count);
        byte[] plaintext = new byte[Derivations.SharePlaintextLength];
        try
        {
            foreach (EncryptedShare share in message.Shares)
            {
                int v = (int)share.PeerId;
                if (share.Ciphertext.Length != Derivations.ShareCiphertextLength
                    || !Primitives.TryOpen(Context.ShareEncryptionKeys[v], Derivations.ShareAssociatedData(Context.SessionId, v, ClientId),
                        share.Ciphertext.Span, plaintext)
                    || BinaryPrimitives.ReadUInt32BigEndian(plaintext) != (uint)v
                    || BinaryPrimitives.ReadUInt32BigEndian(plaintext.AsSpan(4)) != (uint)ClientId)
                {
                    WipeAll(received);
                    return Abort(ClientAbortReason.BadCiphertext);
                }

                received.Add((v, plaintext.AsSpan(8, Primitives.ShareValueLength).ToArray(),
                    plaintext.AsSpan(8 + Primitives.ShareValueLength, Primitives.ShareValueLength).ToArray()));
            }
        }
        finally
        {
            Primitives.Wipe(plaintext);
        }

        uint[] input = Context.Options.Input(p);
        if (input is null || input.Length != p.Dimension)
        {
            WipeAll(received);
            throw new ArgumentException($"The input must have exactly d = {p.Dimension} elements.", nameof(message));
        }

        // The masked vector is built in place in its wire encoding (d little-endian u32 words): no second d-word copy.
        uint modulus = p.ValueMask;
        byte[] encoded = new byte[4 * p.Dimension];
        Span<uint> masked = VectorCodec.AsWords(encoded);
        if (modulus != uint.MaxValue)
        {
            for (int i = 0; i < input.Length; i++)
            {
                if (input[i] > modulus)
                {
                    WipeAll(received);
                    throw new ArgumentException($"Input element {i} is not below 2^{p.Bits}.", nameof(message));
                }
            }
        }

        input.CopyTo(masked);

        Primitives.AddMask(Context.SelfSeed, Derivations.SelfMaskContext(Context.SessionId, ClientId), p.Bits, masked);
        byte[] seed = new byte[Primitives.SeedLength];
        try
        {
            foreach ((int v, _, _) in received)
            {
                if (!Derivations.TryPairKey(p.Suite, Context.MaskKey!, Context.PeerMaskKeys[v], Context.SessionId,
                        Derivations.PairwiseSeedLabel, ClientId, v, seed))
                {
                    WipeAll(received);
                    return Abort(ClientAbortReason.MalformedMessage);
                }

                byte[] context = Derivations.PairwiseMaskContext(Context.SessionId, ClientId, v);
                if (v > ClientId)
                {
                    Primitives.AddMask(seed, context, p.Bits, masked);
                }
                else
                {
                    Primitives.SubtractMask(seed, context, p.Bits, masked);
                }
            }
        }
        finally
        {
            Primitives.Wipe(seed);
        }

        foreach ((int v, byte[] seedShare, byte[] keyShare) in received)
        {
            Context.HeldShares[v] = (seedShare, keyShare);
        }

        var reply = new ClientToServer
        {
            MaskedInput = new MaskedInput
            {
                RoundNumber = p.RoundNumber,
                ClientId = (uint)ClientId,
                MaskedVector = UnsafeByteOperations.UnsafeWrap(VectorCodec.FinishInPlace(encoded)),
            },
        };
        ClientState next = p.IsMalicious ? new ClientConsistencyCheckState(Context) : new ClientUnmaskingState(Context);
        return Next(next, reply);
    }

    private static void WipeAll(List<(int Sender, byte[] SeedShare, byte[] KeyShare)> shares)
    {
        foreach ((_, byte[] a, byte[] b) in shares)
        {
            Primitives.Wipe(a);
            Primitives.Wipe(b);
        }
    }
}
